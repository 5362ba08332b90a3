"""The tus request headers as values (anb_ingest.tus.headers): what each parser accepts and refuses."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime

import pytest

from anb_ingest.tus import headers


@pytest.mark.parametrize(("value", "number"), [("0", 0), ("42", 42), (str(2**63 - 1), 2**63 - 1)])
def test_non_negative_accepts_plain_decimal_digits(value: str, number: int) -> None:
    assert headers.non_negative("Upload-Length", value) == number


@pytest.mark.parametrize("value", [None, "", "-1", "+1", " 1", "1.0", "0x10", "1e3", str(2**63), "9" * 20])
def test_non_negative_refuses_anything_else_naming_the_header(value: str | None) -> None:
    with pytest.raises(headers.BadHeader) as refused:
        headers.non_negative("Upload-Offset", value)
    assert refused.value.header == "Upload-Offset"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    ("value", "pairs"),
    [
        (None, {}),
        ("", {}),
        (f"title {_b64('Clavada')}", {"title": b"Clavada"}),
        (f"title {_b64('Tiro')},filename {_b64('a.mp4')}", {"title": b"Tiro", "filename": b"a.mp4"}),
        ("is_confidential", {"is_confidential": b""}),  # tus: a key may come without a value
        (f"title {_b64('Año ñ')}", {"title": "Año ñ".encode()}),
    ],
)
def test_metadata_pairs(value: str | None, pairs: dict[str, bytes]) -> None:
    assert headers.metadata(value) == pairs


@pytest.mark.parametrize(
    "value", ["title !!!", f"title {_b64('a')},title {_b64('b')}", f",title {_b64('a')}"]
)
def test_metadata_refusals(value: str) -> None:
    with pytest.raises(headers.BadHeader, match="Upload-Metadata"):
        headers.metadata(value)


def test_checksum_reads_algorithm_and_digest() -> None:
    digest = hashlib.sha1(b"abc").digest()
    assert headers.checksum(f"sha1 {base64.b64encode(digest).decode()}") == ("sha1", digest)
    assert headers.checksum(None) is None


@pytest.mark.parametrize(("value", "error"), [
    ("md5 AAAA", headers.UnknownAlgorithm),
    ("sha256 not-base64!", headers.BadHeader),
    ("sha256 ", headers.BadHeader),
])  # fmt: skip
def test_checksum_refusals(value: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        headers.checksum(value)


def test_upload_expires_is_an_imf_fixdate() -> None:
    assert headers.http_date(datetime(2014, 6, 25, 16, 0, tzinfo=UTC)) == "Wed, 25 Jun 2014 16:00:00 GMT"
