"""The rehearsal hosts' operating system: Debian 12 as its official AMI has it, debootstrapped once and
cached, keyed on what went into it."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
# What the bootstrap may rely on from the AMI: systemd (PID 1, the units), dbus, python3 (3.11).
# No python3-venv, no AWS CLI, no curl: the bootstrap must do without them, as on the AMI.
PACKAGES = ("systemd", "dbus", "python3")
CACHE = Path("/var/cache/anb-rehearsal")


def cache_key() -> str:
    return hashlib.sha256(f"{SUITE} minbase {','.join(PACKAGES)} {MIRROR}".encode()).hexdigest()[:16]


def rootfs(say: Callable[[str], None] = print) -> Path:
    """The cached root file system, debootstrapped first when this package list has none yet."""
    target = CACHE / f"debian-{SUITE}-{cache_key()}"
    if (target / "usr/lib/systemd/systemd").exists():
        return target
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    say(f"debootstrap {SUITE} ({', '.join(PACKAGES)}) into {target}")
    subprocess.run(
        ["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", SUITE, str(partial), MIRROR],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    partial.rename(target)
    return target
