"""The rehearsal's steps: boots, the player's flow through the web host's gateway, and the drills,
each with the outcome it expects asserted (a drill that fails says why; none is skipped quietly)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from anb_devstack.clips import make_clip
from anb_gateway import wording
from anb_rehearsal import network, observe
from anb_rehearsal.host import Host
from anb_rehearsal.platform import Platform
from anb_rehearsal.stack import Stack, client

DRILLS = (
    "empty_secret_signals_failure",
    "worker_signals_only_when_ready",
    "database_outage",
    "transcoder_stop_during_job",
    "rolling_update",
)
PASSWORD = "Rehearsal-Pass-2026!"  # noqa: S105 - a player of the rehearsal's own platform


class DrillFailed(AssertionError):
    pass


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise DrillFailed(message)


@dataclass
class Rehearsal:
    stack: Stack
    platform: Platform
    endpoints: dict[str, str]
    image: Path
    workdir: Path
    say: Callable[[str], None]
    hosts: list[Host] = field(default_factory=list)
    drills: dict[str, str] = field(default_factory=dict)
    observed: dict[str, Any] = field(default_factory=dict)
    """What the flow read back from CloudWatch and PostgreSQL (printed in the last line)."""

    # ------------------------------------------------------------ hosts
    def host(self, name: str, index: int, instance_id: str, role: str) -> Host:
        host = Host(name, network.host_address(index), self.workdir)
        host.prepare(self.image)
        with self.platform.registry.lock:
            self.platform.registry.instances[host.address] = self._instance(instance_id, role, host.address)
        self.hosts.append(host)
        return host

    @staticmethod
    def _instance(instance_id: str, role: str, address: str) -> Any:
        from anb_rehearsal.standins import Instance

        return Instance(instance_id, role, address)

    def boot(self, host: Host, launch_template: str, version: str = "r1") -> None:
        self.stack.values["ReleaseVersion"] = version
        host.boot(self.stack.user_data(launch_template, self.endpoints))
        host.wait_running()

    def wait_signal(self, instance_id: str, after: float, timeout: float) -> str | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [s for s in self.platform.registry.signals_of(instance_id) if s.at >= after]
            if found:
                return found[0].status
            time.sleep(1)
        return None

    @property
    def api(self) -> str:
        return f"http://{network.host_address(0)}:8000/api"

    # ------------------------------------------------------------ the run
    def run(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "hosts_booted": 0,
            "flow_passed": False,
            "drills": self.drills,
            "observed": self.observed,
        }
        web_id = self.stack.instances["WebGroup"][0]
        worker_id = self.stack.instances["WorkerGroup"][0]
        web_role = self.stack.values.get("WebHostRole", "web-host")
        worker_role = self.stack.values.get("TranscoderRole", "transcoder")

        self._drill("empty_secret_signals_failure", lambda: self.drill_empty_secret(web_role))

        worker = self.host("worker", 1, worker_id, worker_role)
        web = self.host("web", 0, web_id, web_role)
        self.say("booting the worker host first: no brand assets in the bucket yet")
        started = time.monotonic()
        self.boot(worker, "WorkerLaunchTemplate")
        early = self.wait_signal(worker_id, started, 60)
        self.say(f"worker after 60 s without brand assets: {early or 'no signal'}")
        self.say("booting the web host")
        self.boot(web, "WebLaunchTemplate")
        web_signal = self.wait_signal(web_id, web.booted_at, 900)
        self.say(f"web host signalled {web_signal}")
        if web_signal == "SUCCESS":
            out["hosts_booted"] += 1
            out["boot_to_healthy_s"] = round(self._healthy_since(web) - web.booted_at, 1)
        else:
            self.say(web.output_log()[-4000:])
        seeded_at = time.monotonic()
        worker_signal = self.wait_signal(worker_id, started, 900)
        self.say(f"worker host signalled {worker_signal}")
        if worker_signal == "SUCCESS":
            out["hosts_booted"] += 1
        else:
            self.say(worker.output_log()[-4000:])
        self._drill(
            "worker_signals_only_when_ready",
            lambda: self.drill_worker_ready(early, worker_signal, worker_id, seeded_at),
        )
        if out["hosts_booted"] == 2:
            try:
                self.flow(web, worker, web_id, worker_id)
                out["flow_passed"] = True
            except Exception as exc:
                self.say(f"flow failed: {exc}")
            self._drill("database_outage", lambda: self.drill_database_outage(web, worker))
            self._drill("transcoder_stop_during_job", lambda: self.drill_transcoder_stop(worker))
            self._drill("rolling_update", lambda: self.drill_rolling_update(web, web_id))
        for name in DRILLS:
            self.drills.setdefault(name, "not run: the hosts did not both come up")
        out["drills_passed"] = sum(1 for v in self.drills.values() if v == "passed")
        return out

    def _drill(self, name: str, drill: Callable[[], None]) -> None:
        self.say(f"drill {name}")
        try:
            drill()
            self.drills[name] = "passed"
        except Exception as exc:
            self.drills[name] = f"failed: {exc}"
        self.say(f"drill {name}: {self.drills[name]}")

    def _healthy_since(self, web: Host) -> float:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.api}/health", timeout=5).status_code == 200:
                    return time.monotonic()
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        return time.monotonic()

    # ------------------------------------------------------------ the player's flow
    def flow(self, web: Host, worker: Host, web_id: str, worker_id: str) -> None:
        """The player's flow, then what it must leave behind; every check runs and each failure is
        reported (the first failed step of the player's part stops it)."""
        video_id = self.player_flow()
        failures = []
        checks: tuple[tuple[str, Callable[[], None]], ...] = (
            ("hardening", lambda: self.check_units(web, worker)),
            ("database logins", self.check_logins),
            ("logs in CloudWatch Logs", lambda: self.check_logs(web_id, worker_id, video_id)),
            ("metrics in CloudWatch", self.check_metrics),
            ("JSON in journald", lambda: self.check_json_logs(web, worker)),
        )
        for name, check in checks:
            try:
                check()
                self.say(f"flow: {name}: passed")
            except Exception as exc:
                failures.append(f"{name}: {exc}")
                self.say(f"flow: {name}: failed: {exc}")
        expect(not failures, "; ".join(failures))

    def player_flow(self) -> str:
        """Sign up, log in, upload a 1080p clip, see it processed by the worker host, download it,
        publish it, vote for it, read the rankings. Returns the video's id."""
        with httpx.Client(base_url=self.api, timeout=120) as api:
            token = self.player(api, "flow")
            auth = {"Authorization": f"Bearer {token}"}
            video_id = self.upload(api, auth)
            detail = self.wait_processed(api, auth, video_id)
            expect(detail["status"] == "processed", f"video ended {detail['status']}")
            processed = httpx.get(detail["processed_url"], timeout=60)
            expect(
                processed.status_code == 200 and processed.content[4:8] == b"ftyp",
                "processed video downloads as MP4",
            )
            expect(api.post(f"/videos/{video_id}/publish", headers=auth).status_code == 200, "publish")
            voter = {"Authorization": f"Bearer {self.player(api, 'voter')}"}
            vote = api.post(f"/public/videos/{video_id}/vote", headers=voter)
            expect(vote.status_code == 200, f"vote answered {vote.status_code}: {vote.text}")
            rankings = api.get("/public/rankings")
            expect(rankings.status_code == 200 and rankings.json(), "rankings list the player")
        self.say(
            f"flow: video {video_id} uploaded, processed on the worker host, downloaded, published, voted"
        )
        return video_id

    def check_units(self, web: Host, worker: Host) -> None:
        self.check_hardening(web, "anb-gateway", None)
        self.check_hardening(web, "anb-ingest", "/var/cache/anb-ingest")
        self.check_hardening(worker, "anb-transcoder", "/var/cache/anb-transcoder")
        self.check_hardening(web, "anb-logship", None)
        self.check_hardening(worker, "anb-logship", None)

    def check_json_logs(self, web: Host, worker: Host) -> None:
        """Every line the services wrote is a JSON object (uvicorn's own lines included)."""
        for host, unit in ((web, "anb-gateway"), (web, "anb-ingest"), (worker, "anb-transcoder")):
            lines = [line for line in host.journal(unit).splitlines() if line.strip()]
            not_json = [line for line in lines if not _is_json(line)]
            expect(bool(lines) and not not_json, f"{unit} logs JSON to journald; not JSON: {not_json[:3]}")

    def check_logins(self) -> None:
        """Each service logged in as its own role (made by migrate_once with the grants), within its
        pool's budget (the gateway's LISTEN connection on top); the master, never."""
        pools = self.stack.template["Mappings"]["DatabasePools"]
        limits = {
            json.loads(self.stack.secret_values[secret])["username"]: (
                int(pools[service]["PoolSize"]) + int(pools[service]["MaxOverflow"]) + extra
            )
            for service, secret, extra in (
                ("gateway", "GatewayDatabaseSecret", 1),
                ("ingest", "IngestDatabaseSecret", 0),
                ("transcoder", "TranscoderDatabaseSecret", 0),
            )
        }
        self.observed["database_logins"] = observe.database_logins(self.platform, limits)

    def check_logs(self, web_id: str, worker_id: str, video_id: str) -> None:
        lines = observe.shipped_lines(self.stack, self.platform.moto.url, web_id, worker_id, video_id)
        for group, line in lines.items():
            self.say(f"read back from CloudWatch Logs, {group}: {line[:300]}")
        self.observed["log_lines_read_back"] = len(lines)

    def check_metrics(self) -> None:
        figures = observe.metric_figures(self.platform.moto.url, ("UploadsAccepted", "JobsProcessed"))
        self.say(f"read back from CloudWatch {observe.NAMESPACE}: {figures}")
        self.observed["metrics"] = figures

    def player(self, api: httpx.Client, tag: str) -> str:
        email = f"{tag}-{uuid.uuid4().hex[:10]}@example.com"
        body = {
            "first_name": tag.title(),
            "last_name": "Rehearsal",
            "email": email,
            "password1": PASSWORD,
            "password2": PASSWORD,
            "city": "Bogotá",
            "country": "Colombia",
        }
        signup = api.post("/auth/signup", json=body)
        expect(signup.status_code == 201, f"signup answered {signup.status_code}: {signup.text}")
        login = api.post("/auth/login", json={"email": email, "password": PASSWORD})
        expect(login.status_code == 200, f"login answered {login.status_code}")
        token: str = login.json()["access_token"]
        return token

    def upload(self, api: httpx.Client, auth: dict[str, str]) -> str:
        clip = self.workdir / "clip-1080p.mp4"
        if not clip.exists():
            make_clip(clip, seconds=21.0, fps=10)
        with clip.open("rb") as handle:
            response = api.post(
                "/videos/upload",
                headers=auth,
                files={"video_file": (clip.name, handle, "video/mp4")},
                data={"title": "rehearsal clip"},
            )
        expect(response.status_code == 202, f"upload answered {response.status_code}: {response.text}")
        video_id: str = response.json()["video_id"]
        return video_id

    def wait_processed(
        self, api: httpx.Client, auth: dict[str, str], video_id: str, timeout: float = 600
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        detail: dict[str, Any] = {}
        while time.monotonic() < deadline:
            response = api.get(f"/videos/{video_id}", headers=auth)
            if response.status_code == 200:
                detail = response.json()
                if detail.get("status") in ("processed", "failed"):
                    return detail
            time.sleep(2)
        raise DrillFailed(f"video {video_id} not processed within {timeout:.0f} s: {detail}")

    def check_hardening(self, host: Host, unit: str, cache: str | None) -> None:
        shown = host.run(
            "systemctl",
            "show",
            "-p",
            "ProtectSystem,MemoryMax,NoNewPrivileges,User,MainPID,CapabilityBoundingSet",
            unit,
        ).stdout
        props = dict(line.split("=", 1) for line in shown.splitlines() if "=" in line)
        expect(props.get("ProtectSystem") == "strict", f"{unit}: ProtectSystem={props.get('ProtectSystem')}")
        expect(props.get("NoNewPrivileges") == "yes", f"{unit}: NoNewPrivileges")
        expect(props.get("MemoryMax", "infinity") != "infinity", f"{unit}: MemoryMax")
        pid = props["MainPID"]
        # Inside the service's own namespaces, as its user: the root is read-only, its cache is not.
        probe = (
            f"cd /proc/{pid}/root 2>/dev/null; "
            f"nsenter -t {pid} -m -S $(stat -c %u /proc/{pid}) -G $(stat -c %g /proc/{pid}) "
            "sh -c 'touch /opt/anb/rehearsal-probe 2>/dev/null && echo wrote-opt; "
            + (
                f"touch {cache}/rehearsal-probe && rm {cache}/rehearsal-probe && echo wrote-cache"
                if cache
                else "true"
            )
            + "'"
        )
        result = host.run("sh", "-c", probe).stdout
        expect("wrote-opt" not in result, f"{unit} could write /opt/anb")
        if cache:
            expect("wrote-cache" in result, f"{unit} could not write its CacheDirectory {cache}")

    # ------------------------------------------------------------ drills
    def drill_empty_secret(self, role: str) -> None:
        """A web host whose JWT secret is empty: its bootstrap fails and signals FAILURE, never SUCCESS."""
        secrets = client("secretsmanager", self.platform.moto.url)
        arn = self.stack.values["JwtSecret"]
        secrets.put_secret_value(SecretId=arn, SecretString=" ")
        host = self.host("drill", 2, "i-0d1e1f0e0d0c0b0a9", role)
        try:
            self.boot(host, "WebLaunchTemplate")
            status = self.wait_signal("i-0d1e1f0e0d0c0b0a9", host.booted_at, 300)
            time.sleep(3)
            statuses = [s.status for s in self.platform.registry.signals_of("i-0d1e1f0e0d0c0b0a9")]
            expect(status == "FAILURE", f"expected FAILURE, got {status}; {host.output_log()[-1500:]}")
            expect(statuses == ["FAILURE"], f"signals: {statuses}")
            # Readable after the instance is gone: the boot's own account, shipped to the bootstrap group.
            logs = observe.Logs(self.stack, self.platform.moto.url)
            line = logs.line(
                "BootstrapLogGroup", "i-0d1e1f0e0d0c0b0a9", lambda text: "signalling FAILURE" in text
            )
            self.say(f"read back from CloudWatch Logs, bootstrap (failed boot): {line}")
        finally:
            host.stop()
            host.remove()
            self.hosts.remove(host)
            secrets.put_secret_value(SecretId=arn, SecretString=self.stack.secret_values["JwtSecret"])

    def drill_worker_ready(
        self, early: str | None, final: str | None, worker_id: str, seeded_at: float
    ) -> None:
        expect(early is None, f"the worker signalled {early} before the brand assets existed")
        expect(final == "SUCCESS", f"the worker signalled {final} once they did")
        first = self.platform.registry.signals_of(worker_id)[0]
        expect(first.status == "SUCCESS", "the worker's first signal is its success")

    def drill_database_outage(self, web: Host, worker: Host) -> None:
        """PostgreSQL down 60 s: the load balancer's check stays 200 (no host would be replaced), the
        gateway's /api/health and ingest's /internal/health answer 503 naming the database, and all
        comes back without a restart: both health checks 200, a player can sign up and log in."""
        path = self.stack.resources["WebTargetGroup"]["Properties"]["HealthCheckPath"]
        base = f"http://{web.address}:8000"
        units = ((web, "anb-gateway"), (web, "anb-ingest"), (worker, "anb-transcoder"))

        def restarts() -> dict[str, str]:
            return {
                unit: host.run("systemctl", "show", "-p", "NRestarts", "--value", unit).stdout.strip()
                for host, unit in units
            }

        before = restarts()
        self.platform.postgres.stop()
        liveness, health, bodies = [], [], set()
        try:
            end = time.monotonic() + 60
            while time.monotonic() < end:
                liveness.append(_status(f"{base}{path}"))
                status, body = _answer(f"{base}/api/health")
                health.append(status)
                if status == 503:
                    bodies.add(body)
                time.sleep(5)
            ingest = _inside(web, "http://127.0.0.1:8001/internal/health")
        finally:
            self.platform.postgres.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and _status(f"{base}/api/health") != 200:
            time.sleep(2)
        expect(all(s == 200 for s in liveness), f"liveness {path} during the outage: {liveness}")
        expect(all(s == 503 for s in health[1:]), f"/api/health during the outage: {health}")
        # The gateway says it in the players' words; ingest names the dependency.
        details = {_field(body, "detail") for body in bodies}
        expect(details == {wording.DATABASE_DOWN}, f"/api/health's 503 said {bodies}")
        expect(ingest[0] == 503 and _field(ingest[1], "down") == "database", f"ingest's health said {ingest}")
        expect(_status(f"{base}/api/health") == 200, "/api/health recovered within 60 s")
        expect(_inside(web, "http://127.0.0.1:8001/internal/health")[0] == 200, "ingest recovered")
        with httpx.Client(base_url=self.api, timeout=60) as api:
            self.player(api, "after-outage")
        expect(restarts() == before, f"restarts before {before}, after {restarts()}")

    def drill_transcoder_stop(self, worker: Host) -> None:
        """`systemctl stop anb-transcoder` while a job runs: finished within the grace period or handed
        back, and processed exactly once."""
        with httpx.Client(base_url=self.api, timeout=120) as api:
            auth = {"Authorization": f"Bearer {self.player(api, 'stop')}"}
            video_id = self.upload(api, auth)
            deadline = time.monotonic() + 300
            while (
                time.monotonic() < deadline
                and f'"{video_id}"' not in worker.journal("anb-transcoder", 400)
                and video_id not in worker.journal("anb-transcoder", 400)
            ):
                time.sleep(1)
            expect(video_id in worker.journal("anb-transcoder", 400), "the worker never started the job")
            expect(not self._job_lines(worker, video_id, "job done"), "the job was done before the stop")
            stopped = worker.run("systemctl", "stop", "anb-transcoder", timeout=400)
            expect(stopped.returncode == 0, f"systemctl stop: {stopped.stderr}")
            finished = len(self._job_lines(worker, video_id, "job done"))
            handed_back = len(self._job_lines(worker, video_id, "job cancelled by shutdown; handing it back"))
            self.say(
                f"stop during the job: finished in the grace period {finished}, handed back {handed_back}"
            )
            expect(finished + handed_back == 1, f"finished {finished}, handed back {handed_back}")
            worker.run("systemctl", "start", "anb-transcoder", check=True)
            detail = self.wait_processed(api, auth, video_id)
            expect(detail["status"] == "processed", f"video ended {detail['status']}")
        done = self._job_lines(worker, video_id, "job done")
        expect(len(done) == 1, f"job done {len(done)} times for {video_id}")

    @staticmethod
    def _job_lines(worker: Host, video_id: str, message: str) -> list[str]:
        lines = worker.run(
            "journalctl", "_SYSTEMD_UNIT=anb-transcoder.service", "-o", "cat", "--no-pager"
        ).stdout.splitlines()
        return [line for line in lines if observe.json_with(video_id=video_id, msg=message)(line)]

    def drill_rolling_update(self, web: Host, web_id: str) -> None:
        """The web host booted again with release r2: it signals SUCCESS and serves r2."""
        web.stop()
        self.boot(web, "WebLaunchTemplate", version="r2")
        signalled = self.wait_signal(web_id, web.booted_at, 900)
        self.stack.values["ReleaseVersion"] = "r1"
        expect(signalled == "SUCCESS", f"second boot signalled {signalled}: {web.output_log()[-1500:]}")
        status, body = _answer(f"http://{web.address}:8000/api/health")
        expect(status == 200 and '"r2"' in body, f"/api/health on the second boot: {status} {body[:200]}")
        pid = web.run("systemctl", "show", "-p", "MainPID", "--value", "anb-gateway").stdout.strip()
        environ = web.run("cat", f"/proc/{pid}/environ").stdout.split("\0")
        expect(
            "ANB_RELEASE=r2" in environ,
            f"the gateway runs {[e for e in environ if e.startswith('ANB_RELEASE')]}",
        )


def _field(body: str, name: str) -> str | None:
    """One field of a JSON object answer (None when the answer is something else)."""
    try:
        value = json.loads(body).get(name)
    except (ValueError, AttributeError):
        return None
    return None if value is None else str(value)


def _status(url: str) -> int:
    return _answer(url)[0]


def _answer(url: str) -> tuple[int, str]:
    try:
        response = httpx.get(url, timeout=5)
    except httpx.HTTPError as exc:
        return 0, str(exc)
    return response.status_code, response.text


_GET_INSIDE = """
import sys, urllib.error, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=5) as answer:
        print(answer.status, answer.read().decode(errors="replace"))
except urllib.error.HTTPError as exc:
    print(exc.code, exc.read().decode(errors="replace"))
"""


def _inside(host: Host, url: str) -> tuple[int, str]:
    """GET from inside the host (ingest listens on its loopback only)."""
    out = host.run("python3", "-c", _GET_INSIDE, url).stdout.strip()
    status, _, body = out.partition(" ")
    return (int(status) if status.isdigit() else 0), body


def _is_json(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False
