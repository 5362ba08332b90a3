"""Reasons travel and are stored as JSON; text stored before reasons were codes still reads."""

from __future__ import annotations

import pytest

from anb_common.reasons import ProcessingFailure, Reason, UploadRule, decode, encode


@pytest.mark.parametrize(
    "reason",
    [
        Reason(UploadRule.DURATION, {"duration_s": 10.0, "min_s": 20}),
        Reason(UploadRule.CODEC, {"codec": "mpeg4"}),
        Reason(ProcessingFailure.GAVE_UP, {"attempts": 3}),
        Reason(UploadRule.EMPTY_FILE),
    ],
)
def test_round_trip(reason: Reason) -> None:
    assert decode(encode(reason)) == reason


def test_codes_are_plain_strings_on_the_wire() -> None:
    assert encode(Reason(UploadRule.EMPTY_FILE)) == '{"code":"empty_file","values":{}}'


@pytest.mark.parametrize("stored", ["We could not process your video.", '{"code": 1}', "{}", ""])
def test_text_that_is_not_a_reason_is_kept_as_unspecified(stored: str) -> None:
    assert decode(stored) == Reason(ProcessingFailure.UNSPECIFIED, {"text": stored})
