"""One EC2-like host: a copy of the cached Debian root, booted by systemd-nspawn with systemd as PID 1,
on the rehearsal's bridge, running its user data once per boot as cloud-init's final stage would: from
a unit named as cloud-init's (cloud-final.service), its output in the journal (which the host's log
shipper sends to the bootstrap group) and in /var/log/cloud-init-output.log."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from anb_rehearsal.network import BRIDGE, GATEWAY, PREFIX

USER_DATA_UNIT = "cloud-final.service"
_USER_DATA_SERVICE = """\
[Unit]
Description=Run the instance's user data (the rehearsal's cloud-init final stage)
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
# cloud-init's `output: {all: "| tee -a /var/log/cloud-init-output.log"}` under its cloud-final.service
# (StandardOutput=journal+console): the script's output goes to the journal and to that file.
ExecStart=/bin/bash -c 'set -o pipefail; /bin/bash /var/lib/cloud/instance/user-data.txt 2>&1 \\
    | tee -a /var/log/cloud-init-output.log'
StandardOutput=journal+console
StandardError=journal+console
TimeoutStartSec=30min

[Install]
WantedBy=multi-user.target
"""


class Host:
    def __init__(self, name: str, address: str, workdir: Path) -> None:
        self.name = name
        self.address = address
        self.root = workdir / name
        self.console = workdir / f"{name}.console.log"
        self._process: subprocess.Popen[bytes] | None = None
        self.booted_at = 0.0

    def prepare(self, rootfs: Path) -> None:
        """A fresh disk from the AMI (the cached root): the same image every instance starts from."""
        shutil.rmtree(self.root, ignore_errors=True)
        subprocess.run(["cp", "-a", "--reflink=auto", str(rootfs), str(self.root)], check=True)
        (self.root / "etc/hostname").write_text(self.name + "\n")
        # A persistent journal: it outlives the host for a post-mortem (journalctl --directory).
        (self.root / "var/log/journal").mkdir(parents=True, exist_ok=True)
        network = self.root / "etc/systemd/network/10-rehearsal.network"
        network.parent.mkdir(parents=True, exist_ok=True)
        network.write_text(
            f"[Match]\nName=host0\n\n[Network]\nAddress={self.address}/{PREFIX}\nGateway={GATEWAY}\n"
            "LinkLocalAddressing=no\nIPv6AcceptRA=no\n"
        )
        unit = self.root / f"etc/systemd/system/{USER_DATA_UNIT}"
        unit.write_text(_USER_DATA_SERVICE)
        wants = self.root / "etc/systemd/system/multi-user.target.wants"
        wants.mkdir(parents=True, exist_ok=True)
        for name, target in (
            ("systemd-networkd.service", "/lib/systemd/system/systemd-networkd.service"),
            (USER_DATA_UNIT, f"/etc/systemd/system/{USER_DATA_UNIT}"),
        ):
            link = wants / name
            link.unlink(missing_ok=True)
            link.symlink_to(target)
        online = self.root / "etc/systemd/system/network-online.target.wants"
        online.mkdir(parents=True, exist_ok=True)
        link = online / "systemd-networkd-wait-online.service"
        link.unlink(missing_ok=True)
        link.symlink_to("/lib/systemd/system/systemd-networkd-wait-online.service")

    def boot(self, user_data: str) -> None:
        """Boot with this user data (a second boot runs the new one: a rolling update's new instance)."""
        target = self.root / "var/lib/cloud/instance/user-data.txt"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(user_data)
        target.chmod(0o700)
        console = self.console.open("ab")
        self.booted_at = time.monotonic()
        self._process = subprocess.Popen(
            [
                "systemd-nspawn",
                "--register=no",
                "--keep-unit",
                "--quiet",
                "--boot",
                # The machine name makes the host side of its veth (vb-anb-NAME): prefixed, so that it
                # never meets another container's on this machine.
                f"--machine=anb-{self.name}",
                f"--directory={self.root}",
                f"--network-bridge={BRIDGE}",
                # The console goes to the console log. Never "passive": its pseudo TTY is connected
                # nowhere, so once its buffer fills every write to /dev/console blocks, PID 1's first.
                "--console=read-only",
            ],
            stdin=subprocess.DEVNULL,
            stdout=console,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def leader(self) -> int:
        """The container's PID 1 as this machine sees it: the child of nspawn that is PID 1 inside."""
        if self._process is None:
            raise LookupError(f"{self.name} is not running")
        for task in Path(f"/proc/{self._process.pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                status = Path(f"/proc/{child}/status").read_text()
                nspid = next(line for line in status.splitlines() if line.startswith("NSpid:")).split()
                if nspid[-1] == "1":
                    return int(child)
        raise LookupError(f"{self.name} has no PID 1 yet")

    def run(
        self, *command: str, check: bool = False, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """A command inside the host (every namespace of its PID 1), with a clean environment."""
        return subprocess.run(
            [
                "nsenter",
                f"--target={self.leader()}",
                "--all",
                "--wd=/",
                "--",
                "/usr/bin/env",
                "-i",
                "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                *command,
            ],
            capture_output=True,
            text=True,
            check=check,
            timeout=timeout,
        )

    def wait_running(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                raise RuntimeError(f"{self.name}: systemd-nspawn exited; see {self.console}")
            try:
                if self.run("systemctl", "is-system-running").stdout.strip() in {
                    "running",
                    "degraded",
                    "starting",
                }:
                    return
            except (LookupError, subprocess.TimeoutExpired):
                pass
            time.sleep(0.5)
        raise TimeoutError(f"{self.name} did not boot within {timeout:.0f} s")

    def journal(self, unit: str, lines: int = 200) -> str:
        """The last lines the unit's own processes wrote (not systemd's lines about it)."""
        return self.run(
            "journalctl", f"_SYSTEMD_UNIT={unit}.service", "-o", "cat", "-n", str(lines), "--no-pager"
        ).stdout

    def output_log(self) -> str:
        path = self.root / "var/log/cloud-init-output.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self, timeout: float = 120) -> None:
        """Power off (systemd stops every unit in order), then make sure nspawn and the container are
        gone: a container whose nspawn was killed keeps running under this machine's PID 1, with its
        veth, unless its own PID 1 is killed too (which takes every process of its namespace)."""
        if self._process is None:
            return
        leader = self._leader_identity()
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)  # nspawn asks PID 1 to power off
            try:
                self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._process.send_signal(signal.SIGTERM)  # a second one: terminate at once
                try:
                    self._process.wait(15)
                except subprocess.TimeoutExpired:
                    os.killpg(self._process.pid, signal.SIGKILL)
                    self._process.wait()
        if leader is not None and _identity(leader[0]) == leader:
            os.kill(leader[0], signal.SIGKILL)
        self._process = None

    def _leader_identity(self) -> tuple[int, str] | None:
        try:
            pid = self.leader()
        except (LookupError, OSError):
            return None
        return _identity(pid)

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _identity(pid: int) -> tuple[int, str] | None:
    """A process by its id and start time, so that a reused id is never taken for it."""
    try:
        return pid, Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None
