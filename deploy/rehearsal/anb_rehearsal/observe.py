"""What an operator would look at after the flow, read back from where the deployment puts it: the
hosts' log lines in CloudWatch Logs (shipped by anb-logship from each host's journal), the services'
figures in CloudWatch metrics (namespace ANB/Video), and who is logged in to the database (each
service as its own role, within its pool)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from anb_rehearsal.platform import Platform
from anb_rehearsal.stack import Stack, client

NAMESPACE = "ANB/Video"
"""deploy/README.md, "Metrics: the contract the services publish"."""


class Unobserved(AssertionError):
    """Something the deployment should have made visible was not there."""


def wait_for(what: str, found: Callable[[], Any], timeout: float) -> Any:
    """``found()`` once it returns something truthy; Unobserved after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = found()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise Unobserved(f"{what}: not within {timeout:.0f} s")
        time.sleep(2)


class Logs:
    """The stack's log groups in moto's CloudWatch Logs, one stream per instance."""

    def __init__(self, stack: Stack, endpoint: str) -> None:
        self.stack = stack
        self.logs = client("logs", endpoint)

    def group(self, resource: str) -> str:
        return self.stack.values[resource]

    def lines(self, resource: str, instance_id: str) -> list[str]:
        found: list[str] = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"nextToken": token} if token else {}
            try:
                page = self.logs.get_log_events(
                    logGroupName=self.group(resource),
                    logStreamName=instance_id,
                    startFromHead=True,
                    **kwargs,
                )
            except self.logs.exceptions.ResourceNotFoundException:
                return found
            found += [event["message"] for event in page["events"]]
            if not page["events"] or page.get("nextForwardToken") == token:
                return found
            token = page.get("nextForwardToken")

    def line(self, resource: str, instance_id: str, match: Callable[[str], bool], timeout: float = 60) -> str:
        """The first line of that group's stream for the instance that ``match``es, once shipped."""

        def first() -> str | None:
            return next((line for line in self.lines(resource, instance_id) if match(line)), None)

        found: str = wait_for(f"a line in {self.group(resource)}/{instance_id}", first, timeout)
        return found


def json_with(**fields: str) -> Callable[[str], bool]:
    """A JSON log line holding each of ``fields`` (a value matches when it is contained)."""

    def match(line: str) -> bool:
        try:
            entry = json.loads(line)
        except ValueError:
            return False
        return isinstance(entry, dict) and all(value in str(entry.get(k, "")) for k, value in fields.items())

    return match


def shipped_lines(stack: Stack, endpoint: str, web_id: str, worker_id: str, video_id: str) -> dict[str, str]:
    """One line from each log group, each proving what its host shipped: the boot's end on both hosts,
    the upload in ingest's group, the job in the transcoder's and a JSON line of the gateway's."""
    logs = Logs(stack, endpoint)
    return {
        "bootstrap (web)": logs.line(
            "BootstrapLogGroup", web_id, lambda line: "anb-bootstrap: ready" in line
        ),
        "bootstrap (worker)": logs.line(
            "BootstrapLogGroup", worker_id, lambda line: "anb-bootstrap: ready" in line
        ),
        "gateway": logs.line("GatewayLogGroup", web_id, json_with(service="gateway")),
        "ingest": logs.line("IngestLogGroup", web_id, json_with(service="ingest", video_id=video_id)),
        "transcoder": logs.line(
            "TranscoderLogGroup", worker_id, json_with(service="transcoder", video_id=video_id)
        ),
    }


def metric_figures(endpoint: str, names: tuple[str, ...], timeout: float = 150) -> dict[str, float]:
    """The all-hosts total (the empty dimension set) of each metric over the last hour, once every one
    has been published."""
    cloudwatch = client("cloudwatch", endpoint)

    def figures() -> dict[str, float] | None:
        now = datetime.now(UTC)
        found = {}
        for name in names:
            points = cloudwatch.get_metric_statistics(
                Namespace=NAMESPACE,
                MetricName=name,
                StartTime=now - timedelta(hours=1),
                EndTime=now + timedelta(minutes=5),
                Period=3600,
                Statistics=["Sum"],
            )["Datapoints"]
            if not points:
                return None
            found[name] = sum(point["Sum"] for point in points)
        return found

    try:
        result: dict[str, float] = wait_for(f"{', '.join(names)} in {NAMESPACE}", figures, timeout)
    except Unobserved:
        published = sorted(
            {m["MetricName"] for m in cloudwatch.list_metrics(Namespace=NAMESPACE).get("Metrics", [])}
        )
        raise Unobserved(
            f"{', '.join(names)} not read back from CloudWatch within {timeout:.0f} s; "
            f"{NAMESPACE} holds {published or 'no metric at all'}"
        ) from None
    return result


def database_logins(platform: Platform, limits: dict[str, int]) -> dict[str, int]:
    """Connections to the application database by login role: exactly the service roles, each within
    its pool's budget, never the master."""
    rows = platform.psql(
        "SELECT usename, count(*) FROM pg_stat_activity WHERE datname = 'anb' AND usename <> 'postgres' "
        "GROUP BY usename ORDER BY usename"
    )
    logins = {name: int(count) for name, count in (row.split("|") for row in rows.splitlines() if row)}
    if set(logins) != set(limits):
        raise Unobserved(f"logged in to anb: {logins}; expected exactly the service roles {sorted(limits)}")
    over = {name: count for name, count in logins.items() if count > limits[name]}
    if over:
        raise Unobserved(f"connections past the budget {limits}: {over}")
    return logins
