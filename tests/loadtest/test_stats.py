from __future__ import annotations

import pytest

from loadtest.stats import Row, evaluate, parse_history, parse_stats

HEADER = (
    "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,"
    "Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,"
    "50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%"
)
# Two lines as Locust 2.x writes them: an endpoint that saw traffic, one that never did, and the total.
STATS = "\n".join(
    [
        HEADER,
        "GET,/api/public/rankings,200,3,12,20.5,2,900,350,10.5,0.1,12,14,16,18,40,95,300,500,900,900,900",
        "POST,/api/videos/upload,0,0,0,0,0,0,0,0.0,0.0,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A",
        ",Aggregated,200,3,12,20.5,2,900,350,10.5,0.1,12,14,16,18,40,95,300,500,900,900,900",
    ]
)


def test_parse_stats_reads_every_row_with_its_percentiles() -> None:
    rows = parse_stats(STATS)
    assert set(rows) == {"/api/public/rankings", "/api/videos/upload", "Aggregated"}
    total = rows["Aggregated"]
    assert (total.requests, total.failures, total.median_ms, total.p95_ms, total.p99_ms) == (
        200,
        3,
        12,
        95,
        500,
    )
    assert total.max_ms == 900
    assert total.rps == pytest.approx(10.5)
    assert total.error_rate == pytest.approx(0.015)


def test_an_endpoint_without_requests_reads_as_zero_not_an_error() -> None:
    upload = parse_stats(STATS)["/api/videos/upload"]
    assert (upload.requests, upload.p95_ms, upload.error_rate) == (0, 0.0, 0.0)


def _row(requests: int, failures: int, p95_ms: float) -> Row:
    return Row("Aggregated", requests, failures, 10.0, p95_ms, p95_ms, p95_ms, 1.0)


@pytest.mark.parametrize(
    ("requests", "failures", "p95_ms", "passed", "reason"),
    [
        (1000, 0, 120.0, True, None),
        (1000, 50, 1000.0, True, None),  # both limits are inclusive: exactly 5 % and exactly 1 s pass
        (1000, 51, 100.0, False, "errors 5.1% > 5%"),
        (1000, 0, 1001.0, False, "p95 1001 ms > 1000 ms"),
        (1000, 400, 5000.0, False, "p95 5000 ms > 1000 ms"),
        (0, 0, 0.0, False, "no request completed"),
    ],
)
def test_evaluate_applies_p95_and_error_limits(
    requests: int, failures: int, p95_ms: float, passed: bool, reason: str | None
) -> None:
    verdict = evaluate(_row(requests, failures, p95_ms))
    assert verdict.passed is passed
    if reason is not None:
        assert verdict.reasons[0] == reason
    else:
        assert verdict.reasons == []


def test_evaluate_names_every_broken_limit() -> None:
    assert len(evaluate(_row(100, 40, 3000.0)).reasons) == 2


def test_parse_history_keeps_only_the_aggregated_line_of_each_second() -> None:
    header = (
        "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,"
        "99.99%,100%,Total Request Count,Total Failure Count"
    )
    text = "\n".join(
        [
            header,
            "1700000000,0,,Aggregated,0.000000,0.000000,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,0,0",
            "1700000001,4,GET,/api/videos,2.0,0.0,10,11,12,13,14,15,16,17,18,19,20,4,0",
            "1700000001,4,,Aggregated,3.5,0.5,10,11,12,13,14,250,16,17,18,19,20,7,1",
        ]
    )
    samples = parse_history(text)
    assert [(s.timestamp, s.users, s.rps, s.failures_per_s, s.p95_ms) for s in samples] == [
        (1700000000, 0, 0.0, 0.0, 0.0),
        (1700000001, 4, 3.5, 0.5, 250.0),
    ]
