"""What the machine was doing during a run: its size, and how much of its CPU went to other people's work.

Other engineers' tests share these 2 cores; the share of CPU used by processes outside this run's own
process tree is recorded beside every figure so a reader can judge how contaminated it is.
"""

from __future__ import annotations

import os
import platform
import statistics
import threading
from dataclasses import dataclass, field

import psutil


def describe() -> dict[str, object]:
    return {
        "cpus": psutil.cpu_count(),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "load_avg_at_start": [round(x, 2) for x in psutil.getloadavg()],
    }


def _cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


@dataclass
class Sampler:
    """Once a second: machine CPU use (% of all cores) and the part of it spent outside our tree."""

    total_pct: list[float] = field(default_factory=list)
    foreign_pct: list[float] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _last: dict[int, float] = field(default_factory=dict)

    def __enter__(self) -> Sampler:
        psutil.cpu_percent(None)
        self._foreign_seconds()
        threading.Thread(target=self._run, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()

    def _foreign_seconds(self) -> float:
        me = psutil.Process(os.getpid())
        ours = {me.pid, *(child.pid for child in me.children(recursive=True))}
        spent = 0.0
        seen: dict[int, float] = {}
        for process in psutil.process_iter():
            if process.pid in ours:
                continue
            try:
                now = _cpu_seconds(process)
            except psutil.Error:
                continue
            seen[process.pid] = now
            # A process born since the last sample counts from zero.
            spent += now - self._last.get(process.pid, 0.0 if self._last else now)
        self._last = seen
        return spent

    def _run(self) -> None:
        cores = psutil.cpu_count() or 1
        while not self._stop.wait(1.0):
            self.total_pct.append(psutil.cpu_percent(None))
            self.foreign_pct.append(min(100.0, 100 * self._foreign_seconds() / cores))

    def summary(self) -> dict[str, float | None]:
        return {"cpu_mean_pct": _mean(self.total_pct), "foreign_cpu_mean_pct": _mean(self.foreign_pct)}


def _mean(values: list[float]) -> float | None:
    return round(statistics.mean(values), 1) if values else None
