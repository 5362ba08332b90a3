"""Stand-ins for what moto does not serve: the instance metadata service, CloudFormation's
SignalResource, and RDS's address (a relay to the embedded PostgreSQL, which listens on 127.0.0.1,
through a TLS terminator: RDS for PostgreSQL 15 and later has ``rds.force_ssl=1``, so a client that
does not ask for TLS is refused, as there).

IMDSv2 as EC2 has it with ``HttpTokens: required`` and ``HttpPutResponseHopLimit: 1``: a GET without
a token is refused (401), the token's PUT is answered with IP TTL 1, so a process one router away
(a container inside the instance) never receives it. Each caller is told apart by its address: the
hosts' instance ids, roles and credentials come from ``Instance``.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import socket
import struct
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar


@dataclass
class Instance:
    instance_id: str
    role: str
    address: str


@dataclass
class Signal:
    at: float
    stack: str
    resource: str
    unique_id: str
    status: str


@dataclass
class Registry:
    instances: dict[str, Instance] = field(default_factory=dict)
    tokens: set[str] = field(default_factory=set)
    signals: list[Signal] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def signals_of(self, instance_id: str) -> list[Signal]:
        with self.lock:
            return [s for s in self.signals if s.unique_id == instance_id]


class _Handler(BaseHTTPRequestHandler):
    registry: ClassVar[Registry]

    def log_message(self, *args: Any) -> None:
        pass

    def _reply(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Imds(_Handler):
    def do_PUT(self) -> None:
        if self.path != "/latest/api/token" or not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            self._reply(400, b"")
            return
        token = secrets.token_urlsafe(24)
        with self.registry.lock:
            self.registry.tokens.add(token)
        # HttpPutResponseHopLimit: 1, as EC2 enforces it: the answer cannot cross a router.
        self.connection.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 1)
        self._reply(200, token.encode())

    def do_GET(self) -> None:
        with self.registry.lock:
            known = self.headers.get("X-aws-ec2-metadata-token") in self.registry.tokens
            instance = self.registry.instances.get(self.client_address[0])
        if not known:
            self._reply(401, b"")  # HttpTokens: required (IMDSv1 refused)
            return
        if instance is None:
            self._reply(404, b"")
            return
        path = self.path.removeprefix("/latest/meta-data/")
        creds = f"iam/security-credentials/{instance.role}"
        if path == "instance-id":
            self._reply(200, instance.instance_id.encode())
        elif path == "iam/security-credentials/":
            self._reply(200, instance.role.encode())
        elif path == creds:
            expiry = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 6 * 3600))
            body = {
                "Code": "Success",
                "Type": "AWS-HMAC",
                "AccessKeyId": f"ASIA{instance.instance_id[-12:].upper():0>16}",
                "SecretAccessKey": "rehearsal-secret-" + instance.instance_id,
                "Token": "rehearsal-token-" + instance.instance_id,
                "Expiration": expiry,
                "LastUpdated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
            self._reply(200, json.dumps(body).encode(), "application/json")
        elif path == "placement/region":
            self._reply(200, b"eu-west-1")
        else:
            self._reply(404, b"")


class _CloudFormation(_Handler):
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
        if form.get("Action") != "SignalResource" or "Authorization" not in self.headers:
            self._reply(400, b"<Error><Code>InvalidAction</Code></Error>", "text/xml")
            return
        signal = Signal(
            time.monotonic(), form["StackName"], form["LogicalResourceId"], form["UniqueId"], form["Status"]
        )
        with self.registry.lock:
            self.registry.signals.append(signal)
        body = b"<SignalResourceResponse><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata>"
        self._reply(200, body + b"</SignalResourceResponse>", "text/xml")


def serve(handler: type[_Handler], registry: Registry, address: str, port: int) -> ThreadingHTTPServer:
    bound = type(handler.__name__, (handler,), {"registry": registry})
    server = ThreadingHTTPServer((address, port), bound)
    threading.Thread(target=server.serve_forever, daemon=True, name=handler.__name__).start()
    return server


def imds(registry: Registry, address: str) -> ThreadingHTTPServer:
    return serve(_Imds, registry, address, 80)


def cloudformation(registry: Registry, address: str) -> ThreadingHTTPServer:
    return serve(_CloudFormation, registry, address, 0)


_SSL_REQUEST = struct.pack("!ii", 8, 80877103)
_GSSENC_REQUEST = struct.pack("!ii", 8, 80877104)


def _refusal(message: str) -> bytes:
    """A PostgreSQL ErrorResponse (FATAL, 28000 invalid authorization), as RDS answers."""
    fields = b"SFATAL\0VFATAL\0C28000\0M" + message.encode() + b"\0\0"
    return b"E" + struct.pack("!i", len(fields) + 4) + fields


class Relay:
    """TCP relay from ``listen`` (RDS's address) to ``target`` (the TLS terminator in front of the
    embedded PostgreSQL) for clients that ask for TLS; the others get RDS's refusal."""

    def __init__(self, listen: tuple[str, int], target: tuple[str, int]) -> None:
        self._target = target
        self._server = socket.create_server(listen, reuse_port=False)
        self._closed = False
        self.refused_plain = 0
        """Connections refused because they did not ask for TLS."""
        threading.Thread(target=self._accept, daemon=True, name="pg-relay").start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._pair, args=(client,), daemon=True).start()

    @staticmethod
    def _read(sock: socket.socket, size: int) -> bytes:
        data = b""
        while len(data) < size and (chunk := sock.recv(size - len(data))):
            data += chunk
        return data

    def _pair(self, client: socket.socket) -> None:
        try:
            client.settimeout(30)
            first = self._read(client, 8)
            if first == _GSSENC_REQUEST:
                client.sendall(b"N")  # no GSSAPI encryption, as on RDS; TLS may be asked next
                first = self._read(client, 8)
            if first != _SSL_REQUEST:
                self.refused_plain += 1
                client.sendall(_refusal("no pg_hba.conf entry for this host, SSL off (rds.force_ssl)"))
                client.close()
                return
            client.settimeout(None)
            upstream = socket.create_connection(self._target, timeout=5)
            upstream.sendall(first)
        except OSError:
            client.close()  # the database is down: the client sees its connection closed
            return
        upstream.settimeout(None)
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def close(self) -> None:
        self._closed = True
        self._server.close()
