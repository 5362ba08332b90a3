"""What the machine was doing during a run: its size, where our CPU went, and how much other people took.

Other engineers' tests share these 2 cores; the share of CPU used by processes outside this run's own
process tree is recorded beside every figure so a reader can judge how contaminated it is. Our own
processes are grouped by role (gateway, ingest, postgres, ...) to show which one is the bottleneck.
"""

from __future__ import annotations

import os
import platform
import statistics
import threading
import time
from dataclasses import dataclass, field

import psutil

# Substrings of a command line that name the role of one of our processes; first match wins.
_ROLES = (
    ("anb_devstack.launcher", "launcher"),
    ("anb_gateway", "gateway"),
    ("anb_ingest", "ingest"),
    ("anb_transcoder", "transcoder"),
    ("locust", "locust"),
    ("moto.server", "moto"),
    ("postgres", "postgres"),
)


def describe() -> dict[str, object]:
    return {
        "cpus": psutil.cpu_count(),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "load_avg_at_start": [round(x, 2) for x in psutil.getloadavg()],
    }


def role(cmdline: list[str]) -> str:
    text = " ".join(cmdline)
    return next((name for marker, name in _ROLES if marker in text), "runner")


@dataclass
class Sampler:
    """Once a second: machine CPU use (% of all cores), the part spent outside our tree, ours by role."""

    total_pct: list[float] = field(default_factory=list)
    foreign_pct: list[float] = field(default_factory=list)
    by_role_s: dict[str, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _last: dict[int, float] = field(default_factory=dict)
    _roles: dict[int, str] = field(default_factory=dict)
    _started: float = 0.0
    _elapsed: float = 0.0

    def __enter__(self) -> Sampler:
        psutil.cpu_percent(None)
        self._started = time.monotonic()
        self._sample()
        threading.Thread(target=self._run, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._elapsed = time.monotonic() - self._started

    def _sample(self) -> float:
        """CPU seconds spent outside our tree since the last sample; ours are added to ``by_role_s``."""
        me = psutil.Process(os.getpid())
        ours = {me.pid, *(child.pid for child in me.children(recursive=True))}
        foreign = 0.0
        seen: dict[int, float] = {}
        for process in psutil.process_iter():
            try:
                times = process.cpu_times()
                if process.pid in ours and process.pid not in self._roles:
                    self._roles[process.pid] = role(process.cmdline())
            except psutil.Error:
                continue
            now = float(times.user + times.system)
            seen[process.pid] = now
            # A process born since the last sample counts from zero.
            spent = now - self._last.get(process.pid, 0.0 if self._last else now)
            if process.pid in ours:
                name = self._roles[process.pid]
                self.by_role_s[name] = self.by_role_s.get(name, 0.0) + spent
            else:
                foreign += spent
        self._last = seen
        return foreign

    def _run(self) -> None:
        cores = psutil.cpu_count() or 1
        while not self._stop.wait(1.0):
            self.total_pct.append(psutil.cpu_percent(None))
            self.foreign_pct.append(min(100.0, 100 * self._sample() / cores))

    def summary(self) -> dict[str, object]:
        elapsed = self._elapsed or (time.monotonic() - self._started)
        return {
            "cpu_mean_pct": _mean(self.total_pct),
            "foreign_cpu_mean_pct": _mean(self.foreign_pct),
            # Percent of ONE core, per role of our own processes, over the whole run.
            "our_cpu_pct_of_one_core": {
                name: round(100 * seconds / elapsed, 1)
                for name, seconds in sorted(self.by_role_s.items(), key=lambda item: -item[1])
            },
        }


def _mean(values: list[float]) -> float | None:
    return round(statistics.mean(values), 1) if values else None
