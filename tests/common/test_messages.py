from __future__ import annotations

import json
import uuid

import pytest

from anb_common.messages import MAX_BODY_BYTES, SCHEMA_VERSION, JobMessage, MessageError, decode, encode


def _valid() -> dict[str, object]:
    video_id = uuid.uuid4()
    return {
        "schema_version": SCHEMA_VERSION,
        "video_id": str(video_id),
        "file_path": f"uploads/{video_id}.mp4",
        "status": "pending",
        "timestamp": "2026-03-10T14:30:00Z",
    }


def test_round_trip_keeps_every_field() -> None:
    video_id = uuid.uuid4()
    message = JobMessage.for_upload(video_id, f"uploads/{video_id}.mp4")
    assert decode(encode(message)) == message


def test_encoded_body_has_the_contract_shape() -> None:
    video_id = uuid.uuid4()
    body = json.loads(encode(JobMessage.for_upload(video_id, f"uploads/{video_id}.mp4")))
    assert set(body) == {"schema_version", "video_id", "file_path", "status", "timestamp"}
    assert body["schema_version"] == 1
    assert body["video_id"] == str(video_id)
    assert body["status"] == "pending"


def test_decodes_bytes_and_str_alike() -> None:
    body = json.dumps(_valid())
    assert decode(body) == decode(body.encode())


def _mutated(**changes: object) -> str:
    body = _valid()
    for key, value in changes.items():
        if value is ...:
            del body[key]
        else:
            body[key] = value
    return json.dumps(body)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("", "malformed"),
        ("not json", "malformed"),
        ("[]", "malformed"),
        ("{}", "malformed"),
        ('{"schema_version": "1"}', "malformed"),
        (_mutated(schema_version=2), "unknown schema_version 2"),
        (_mutated(schema_version=0), "unknown schema_version 0"),
        (_mutated(video_id="not-a-uuid"), "malformed"),
        (_mutated(video_id=...), "malformed"),
        (_mutated(file_path=...), "malformed"),
        (_mutated(file_path=3), "malformed"),
        (_mutated(status="done"), "malformed"),
        (_mutated(timestamp="yesterday"), "malformed"),
        (_mutated(timestamp="2026-03-10T14:30:00"), "timezone"),
        (_mutated(extra="field"), "malformed"),
        ("x" * (MAX_BODY_BYTES + 1), "limit"),
    ],
)
def test_every_bad_body_raises_the_one_typed_error(body: str, says: str) -> None:
    with pytest.raises(MessageError, match=says):
        decode(body)
