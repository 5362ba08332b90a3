"""Everything the hosts talk to, on this machine: moto (S3, SQS, Secrets Manager, SSM, STS,
CloudWatch, CloudWatch Logs, Auto Scaling, plus EC2 and IAM for the groups and roles), the IMDS and
CloudFormation stand-ins, and the embedded PostgreSQL behind RDS's address, with the master user the
stack's secret names, as RDS creates it, and TLS only: a certificate for that address from a CA made
for this run, whose certificate the release carries where it carries RDS's bundle."""

from __future__ import annotations

import json
import subprocess
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import trustme

from anb_devstack.moto import MotoServer, free_port
from anb_devstack.pgtls import TlsTerminator
from anb_devstack.postgres import POSTGRES_BIN_PATH, EmbeddedPostgres
from anb_rehearsal import standins
from anb_rehearsal.network import GATEWAY, IMDS_ADDRESS

RDS_PORT = 5432


@dataclass
class Platform:
    workdir: Path
    stack: ExitStack = field(default_factory=ExitStack)
    registry: standins.Registry = field(default_factory=standins.Registry)

    def start(self) -> None:
        self.moto = MotoServer(free_port(), host=GATEWAY)
        log = (self.workdir / "moto.log").open("ab")
        self.moto.start(stdout=log)
        self.stack.callback(self.moto.stop)
        imds = standins.imds(self.registry, IMDS_ADDRESS)
        self.stack.callback(imds.shutdown)
        cfn = standins.cloudformation(self.registry, GATEWAY)
        self.stack.callback(cfn.shutdown)
        self.cloudformation_url = f"http://{GATEWAY}:{cfn.server_address[1]}"
        self.postgres = EmbeddedPostgres(self.workdir / "pg", free_port(), say=lambda _: None)
        self.postgres.init()
        self.stack.callback(self.postgres.stop)
        self.postgres.start()
        # The certificate names the address the hosts connect to (the stack's Database endpoint).
        ca = trustme.CA(organization_name="ANB rehearsal RDS stand-in")
        self.ca_pem = ca.cert_pem.bytes()
        issued = ca.issue_cert(GATEWAY)
        certificate, key = self.workdir / "rds-server.crt", self.workdir / "rds-server.key"
        issued.cert_chain_pems[0].write_to_path(str(certificate))
        issued.private_key_pem.write_to_path(str(key))
        self.tls = TlsTerminator(free_port(), self.postgres.port, str(certificate), str(key))
        self.tls.start()
        self.stack.callback(self.tls.stop)
        self.relay = standins.Relay((GATEWAY, RDS_PORT), ("127.0.0.1", self.tls.listen_port))
        self.stack.callback(self.relay.close)

    def create_master_user(self, secret: str) -> None:
        """RDS's master user from the stack's secret; passwords are checked (scram) for everyone but the
        harness's own superuser on 127.0.0.1, as RDS checks them."""
        body = json.loads(secret)
        user, password = body["username"], body["password"]
        self.psql(f"CREATE ROLE \"{user}\" LOGIN CREATEROLE CREATEDB PASSWORD '{password}'")
        self.psql(f'ALTER DATABASE anb OWNER TO "{user}"')
        self.psql(f'GRANT ALL ON SCHEMA public TO "{user}"', database="anb")
        hba = self.postgres.datadir / "pg_hba.conf"
        hba.write_text(
            "local all all trust\n"
            "host all postgres 127.0.0.1/32 trust\n"
            "host all all 127.0.0.1/32 scram-sha-256\n"
        )
        self.psql("SELECT pg_reload_conf()")

    def psql(self, sql: str, database: str = "postgres") -> str:
        return subprocess.run(
            [
                str(POSTGRES_BIN_PATH / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.postgres.port),
                "-U",
                "postgres",
                "-d",
                database,
                "-tAc",
                sql,
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    def close(self) -> None:
        self.stack.close()
