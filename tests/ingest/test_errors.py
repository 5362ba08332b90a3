"""Which failures are a dependency's outage (503, try again) and how a broken rule reads (400)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from sqlalchemy.exc import InterfaceError, OperationalError

from anb_common.reasons import Reason, UploadRule
from anb_ingest.errors import OUTAGES, UploadRejected


@pytest.mark.parametrize(
    ("error", "outage"),
    [
        (EndpointConnectionError(endpoint_url="http://s3"), True),
        (ReadTimeoutError(endpoint_url="http://s3"), True),
        (ClientError({"Error": {"Code": "InternalError"}}, "UploadPart"), True),
        (OperationalError("SELECT 1", {}, Exception("connection refused")), True),
        (InterfaceError("SELECT 1", {}, Exception("connection is closed")), True),
        (ConnectionResetError(), True),
        (UploadRejected("title", "The title must have between 1 and 200 characters."), False),
        (ValueError("bad"), False),
    ],
)
def test_outage_table(error: BaseException, outage: bool) -> None:
    assert isinstance(error, OUTAGES) is outage


def test_a_rejection_names_its_rule_then_says_what_was_wrong() -> None:
    rejected = UploadRejected("empty_file", "The uploaded file is empty.")
    assert (rejected.rule, rejected.detail) == ("empty_file", "The uploaded file is empty.")
    assert str(rejected) == "empty_file: The uploaded file is empty."


def test_a_rejection_carries_its_reason_with_the_figures() -> None:
    """What the gateway renders for players: the code and its values; the English is for logs."""
    rejected = UploadRejected(UploadRule.TITLE, "The title is blank.", min_chars=1, max_chars=200)
    assert rejected.reason == Reason("title", {"min_chars": 1, "max_chars": 200})
