"""PostgreSQL's TLS in front of the embedded server, whose build (pgserver's wheel) has no SSL.

A client that asks for TLS (PostgreSQL's ``SSLRequest``, as asyncpg sends before anything else) is
answered ``S`` and handed this certificate, as RDS would; what follows is relayed in the clear to
the embedded server on loopback. A client that does not ask is relayed as it is. What the services do
is then exactly what they do against RDS: ask for TLS, verify the chain and the host name, log in.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import struct
import threading

_SSL_REQUEST = 80877103
_GSSENC_REQUEST = 80877104


class TlsTerminator:
    def __init__(self, listen_port: int, target_port: int, cert_file: str, key_file: str) -> None:
        self.listen_port = listen_port
        self.target_port = target_port
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._context.load_cert_chain(cert_file, key_file)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self.sessions = 0
        """Connections that completed a TLS handshake with us."""

    def start(self) -> None:
        ready = threading.Event()
        self._thread = threading.Thread(target=asyncio.run, args=(self._serve(ready),), daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the TLS terminator did not start")

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)

    async def _serve(self, ready: threading.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._relay, "127.0.0.1", self.listen_port)
        ready.set()
        async with server:
            await self._stop.wait()

    async def _relay(self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter) -> None:
        try:
            first = await client_in.readexactly(8)
            if struct.unpack("!ii", first) == (8, _GSSENC_REQUEST):
                client_out.write(b"N")  # no GSSAPI encryption here, as on RDS; TLS may be asked next
                first = await client_in.readexactly(8)
            upstream_in, upstream_out = await asyncio.open_connection("127.0.0.1", self.target_port)
        except (OSError, asyncio.IncompleteReadError):
            client_out.close()
            return
        try:
            if struct.unpack("!ii", first) == (8, _SSL_REQUEST):
                client_out.write(b"S")
                await client_out.drain()
                await client_out.start_tls(self._context)
                self.sessions += 1
            else:
                upstream_out.write(first)
            # Either side ending ends both: a TLS stream has no half-close to pass the end on with.
            pipes = {
                asyncio.ensure_future(_pipe(client_in, upstream_out)),
                asyncio.ensure_future(_pipe(upstream_in, client_out)),
            }
            _, pending = await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
            for pipe in pending:
                pipe.cancel()
        except (OSError, ssl.SSLError):
            pass  # a client that refused our certificate, or a connection that went away
        finally:
            for writer in (client_out, upstream_out):
                writer.close()


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):
        while chunk := await source.read(65536):
            sink.write(chunk)
            await sink.drain()
