"""The metrics contract in memory and on a real (moto) CloudWatch: dimension sets, values kept for
percentiles, one call per batch, and a CloudWatch that fails costs one log line and nothing else."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from anb_common.aws import Aws
from anb_common.metrics import NAMESPACE, Metric, Metrics, Publisher, publishing
from anb_common.settings import AwsSettings, MetricsSettings
from anb_devstack.moto import free_port


def test_each_observation_counts_in_every_dimension_set_of_the_contract() -> None:
    metrics = Metrics()
    metrics.record(Metric.UPLOADS_REFUSED, Rule="duration")
    metrics.record(Metric.UPLOADS_REFUSED, Rule="codec")
    metrics.record(Metric.UPLOADS_REFUSED, Rule="duration")
    data = {
        tuple((d["Name"], d["Value"]) for d in datum["Dimensions"]): sum(datum["Counts"])
        for datum in metrics.take()
    }
    assert data == {(): 3, (("Rule", "duration"),): 2, (("Rule", "codec"),): 1}
    assert metrics.take() == []  # counting starts over


def test_times_are_binned_under_half_a_percent_and_values_stay_apart() -> None:
    metrics = Metrics()
    latency = metrics.series(Metric.UPLOAD_LATENCY)
    for value in (12.3456, 12.3449, 987.65, 0.0):
        latency.add(value)
    metrics.record(Metric.UPLOAD_BYTES, 1_234_567)  # sizes are not rounded: their sum is exact
    by_name = {datum["MetricName"]: datum for datum in metrics.take()}
    times = by_name["UploadLatency"]
    assert dict(zip(times["Values"], times["Counts"], strict=True)) == {0.0: 1, 12.375: 2, 988.0: 1}
    assert times["Unit"] == "Milliseconds"
    assert by_name["UploadBytes"]["Values"] == [1_234_567]


def test_a_datum_holds_at_most_150_values() -> None:
    metrics = Metrics()
    for value in range(1, 401):
        metrics.record(Metric.UPLOAD_BYTES, value)
    data = metrics.take()
    assert [len(datum["Values"]) for datum in data] == [150, 150, 100]


def test_dimensions_must_be_the_contracts() -> None:
    with pytest.raises(ValueError, match="Rule"):
        Metrics().record(Metric.UPLOADS_REFUSED, Reason="duration")
    with pytest.raises(ValueError, match="Service"):
        Metrics().record(Metric.READY, 1.0)


async def test_a_batch_reaches_cloudwatch(moto_url: str) -> None:
    aws = Aws(AwsSettings(endpoint_url=moto_url))
    metrics = Metrics()
    async with publishing(metrics, aws, MetricsSettings(publish=True)):
        for seconds in (1.5, 2.5):
            metrics.record(Metric.TRANSCODE_TIME, seconds)
        metrics.record(Metric.JOBS_FAILED, Reason="damaged")
    # Leaving the block sent what was left.
    now = datetime.now(UTC)
    async with aws.cloudwatch() as cloudwatch:

        async def statistics(name: str, **dimensions: str) -> dict[str, float]:
            answer = await cloudwatch.get_metric_statistics(
                Namespace=NAMESPACE,
                MetricName=name,
                Dimensions=[{"Name": key, "Value": value} for key, value in dimensions.items()],
                StartTime=now - timedelta(minutes=5),
                EndTime=now + timedelta(minutes=1),
                Period=3600,
                Statistics=["SampleCount", "Sum", "Maximum"],
            )
            (point,) = answer["Datapoints"]
            return {"count": point["SampleCount"], "sum": point["Sum"], "max": point["Maximum"]}

        assert await statistics("TranscodeTime") == {"count": 2, "sum": 4.0, "max": 2.5}
        assert (await statistics("JobsFailed", Reason="damaged"))["sum"] == 1


async def test_a_cloudwatch_that_fails_costs_one_log_line(caplog: pytest.LogCaptureFixture) -> None:
    gone = AwsSettings(endpoint_url=f"http://127.0.0.1:{free_port()}", max_attempts=1, connect_timeout_s=1)
    metrics = Metrics()
    metrics.record(Metric.JOBS_PROCESSED)
    async with Aws(gone).cloudwatch() as cloudwatch:
        with caplog.at_level(logging.WARNING, logger="anb_common.metrics"):
            await Publisher(metrics, cloudwatch, 60).flush()
    (line,) = [record for record in caplog.records if record.name == "anb_common.metrics"]
    assert line.getMessage() == "metrics not published; this batch is dropped"
    assert line.exc_info is None
    assert metrics.take() == []  # dropped, not kept to pile up
