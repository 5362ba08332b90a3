"""The ANB/Video metrics of deploy/README.md's contract: counted in memory, sent to CloudWatch in one
``PutMetricData`` call per process and minute.

Why ``PutMetricData`` and not the embedded metric format (EMF) in the JSON log lines: EMF figures are
extracted by CloudWatch Logs from the lines the hosts ship, so a figure would arrive only as late as
its line (and be lost with it), and only the real service extracts them: moto's Logs does not, so
neither the rehearsal nor ``make test`` could read a figure back. Aggregating here costs one call per
process and minute (0.01 USD per thousand requests: about 0.45 USD a month per process), and the
``Values``/``Counts`` arrays keep the observations' values (times binned under 0.4 %), so CloudWatch
still computes percentiles (p95 of the latency against the 1 s objective).

Recording never waits and never fails: it is a few dict operations on the caller's thread (the event
loop; no lock, no I/O). The ``Publisher`` takes the minute's counts in a background task and sends
them; a failed call is logged in one line and that minute is dropped, never retried into a request.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import math
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from anb_common.aws import Aws
from anb_common.settings import MetricsSettings

if TYPE_CHECKING:
    from types_aiobotocore_cloudwatch.client import CloudWatchClient
    from types_aiobotocore_cloudwatch.type_defs import MetricDatumTypeDef

log = logging.getLogger(__name__)

NAMESPACE = "ANB/Video"
# CloudWatch's limits: 150 values per datum; calls kept far below the 1 MB payload.
_MAX_VALUES = 150
_DATA_PER_CALL = 50
# The last minute's figures are sent on the way out, but a CloudWatch that does not answer cannot
# hold a shutdown (systemd's stop timeout, the worker's grace period) for long.
_FINAL_FLUSH_S = 5.0


class Metric(enum.StrEnum):
    REQUESTS = "Requests"
    REQUEST_LATENCY = "RequestLatency"
    UPLOADS_ACCEPTED = "UploadsAccepted"
    UPLOADS_REFUSED = "UploadsRefused"
    UPLOAD_BYTES = "UploadBytes"
    UPLOAD_LATENCY = "UploadLatency"
    JOB_QUEUE_WAIT = "JobQueueWait"
    TRANSCODE_TIME = "TranscodeTime"
    END_TO_END_TIME = "EndToEndTime"
    JOBS_PROCESSED = "JobsProcessed"
    JOBS_FAILED = "JobsFailed"
    JOB_RETRIES = "JobRetries"
    JOBS_DEAD_LETTERED = "JobsDeadLettered"
    READY = "Ready"


@dataclass(frozen=True)
class Spec:
    unit: str
    dimension_sets: tuple[tuple[str, ...], ...]
    """Each observation is counted once in each set; ``()`` is the total the alarms read."""

    @property
    def timed(self) -> bool:
        return self.unit in ("Milliseconds", "Seconds")


_TOTAL: tuple[tuple[str, ...], ...] = ((),)
CONTRACT: dict[Metric, Spec] = {
    Metric.REQUESTS: Spec("Count", (("StatusClass",),)),
    Metric.REQUEST_LATENCY: Spec("Milliseconds", ((), ("Route",))),
    Metric.UPLOADS_ACCEPTED: Spec("Count", _TOTAL),
    Metric.UPLOADS_REFUSED: Spec("Count", ((), ("Rule",))),
    Metric.UPLOAD_BYTES: Spec("Bytes", _TOTAL),
    Metric.UPLOAD_LATENCY: Spec("Milliseconds", _TOTAL),
    Metric.JOB_QUEUE_WAIT: Spec("Seconds", _TOTAL),
    Metric.TRANSCODE_TIME: Spec("Seconds", _TOTAL),
    Metric.END_TO_END_TIME: Spec("Seconds", _TOTAL),
    Metric.JOBS_PROCESSED: Spec("Count", _TOTAL),
    Metric.JOBS_FAILED: Spec("Count", ((), ("Reason",))),
    Metric.JOB_RETRIES: Spec("Count", _TOTAL),
    Metric.JOBS_DEAD_LETTERED: Spec("Count", _TOTAL),
    Metric.READY: Spec("None", (("Service",),)),
}
"""deploy/README.md's table: a change here changes the dashboard and the alarms in the same commit."""

_Key = tuple[Metric, tuple[tuple[str, str], ...]]


def _binned(value: float) -> float:
    """A time to one of 128 steps per doubling (under 0.4 % off): a minute of requests then holds a
    few hundred distinct values, not one per request, and its percentiles move by less than that.
    Binary steps (frexp) cost a third of decimal rounding's log10, on every request."""
    if value <= 0:
        return 0.0
    mantissa, exponent = math.frexp(value)
    return math.ldexp(round(mantissa * 256) / 256, exponent)


class Series:
    """One metric with its dimension values; ``add`` counts an observation in each dimension set."""

    __slots__ = ("_keys", "_metrics", "_timed")

    def __init__(self, metrics: Metrics, keys: Sequence[_Key], timed: bool) -> None:
        self._metrics = metrics
        self._keys = tuple(keys)
        self._timed = timed

    def add(self, value: float = 1.0) -> None:
        if self._timed:
            value = _binned(value)
        batch = self._metrics._batch
        for key in self._keys:
            counts = batch.get(key)
            if counts is None:
                counts = batch[key] = {}
            counts[value] = counts.get(value, 0) + 1


class Metrics:
    """What one process counted since the last ``take``: per metric and dimension values, how many
    times each value was seen."""

    def __init__(self) -> None:
        self._batch: dict[_Key, dict[float, int]] = {}
        self._since = time.time()
        self._series: dict[tuple[Metric, tuple[tuple[str, str], ...]], Series] = {}

    def series(self, metric: Metric, **dimensions: str) -> Series:
        """The handle a hot path keeps (built once): ``dimensions`` names every dimension of the
        metric's sets, with its value."""
        given = tuple(sorted(dimensions.items()))
        found = self._series.get((metric, given))
        if found is None:
            spec = CONTRACT[metric]
            wanted = {name for names in spec.dimension_sets for name in names}
            if set(dimensions) != wanted:
                raise ValueError(f"{metric} takes the dimensions {sorted(wanted)}, not {sorted(dimensions)}")
            keys = [
                (metric, tuple((name, dimensions[name]) for name in names)) for names in spec.dimension_sets
            ]
            found = self._series[(metric, given)] = Series(self, keys, spec.timed)
        return found

    def record(self, metric: Metric, value: float = 1.0, **dimensions: str) -> None:
        """Count one observation (``value`` 1 for a count)."""
        self.series(metric, **dimensions).add(value)

    def take(self) -> list[MetricDatumTypeDef]:
        """Everything counted so far as CloudWatch data stamped with when counting began; counting
        starts over."""
        batch, since = self._batch, self._since
        self._batch, self._since = {}, time.time()
        stamp = datetime.fromtimestamp(since, UTC)
        data: list[MetricDatumTypeDef] = []
        for (metric, dimensions), counts in batch.items():
            seen = sorted(counts.items())
            for start in range(0, len(seen), _MAX_VALUES):
                chunk = seen[start : start + _MAX_VALUES]
                data.append(
                    {
                        "MetricName": metric.value,
                        "Dimensions": [{"Name": name, "Value": value} for name, value in dimensions],
                        "Timestamp": stamp,
                        "Unit": CONTRACT[metric].unit,  # type: ignore[typeddict-item]  # one of StandardUnit
                        "Values": [value for value, _ in chunk],
                        "Counts": [float(count) for _, count in chunk],
                        "StorageResolution": 60,
                    }
                )
        return data


class Publisher:
    """Sends what ``metrics`` counted every ``interval_s`` (on the wall clock's multiples of it, so
    that a 60 s batch is one calendar minute), or drops it when publishing is off."""

    def __init__(self, metrics: Metrics, client: CloudWatchClient | None, interval_s: float) -> None:
        self._metrics = metrics
        self._client = client
        self._interval_s = interval_s

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s - time.time() % self._interval_s)
            await self.flush()

    async def flush(self) -> None:
        data = self._metrics.take()
        if self._client is None or not data:
            return
        try:
            for start in range(0, len(data), _DATA_PER_CALL):
                await self._client.put_metric_data(
                    Namespace=NAMESPACE, MetricData=data[start : start + _DATA_PER_CALL]
                )
        except Exception as exc:
            # Figures are not worth a retry that could pile up behind an outage: this batch is lost.
            log.warning("metrics not published; this batch is dropped", extra={"error": repr(exc)})


@contextlib.asynccontextmanager
async def publishing(metrics: Metrics, aws: Aws, settings: MetricsSettings) -> AsyncIterator[None]:
    """Publish in the background while the block runs, and what is left once it ends."""
    async with contextlib.AsyncExitStack() as stack:
        client = await stack.enter_async_context(aws.cloudwatch()) if settings.publish else None
        publisher = Publisher(metrics, client, settings.interval_s)
        task = asyncio.create_task(publisher.run(), name="metrics-publisher")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_FINAL_FLUSH_S):
                    await publisher.flush()
