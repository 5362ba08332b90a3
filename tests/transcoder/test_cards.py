"""Encoded cards: a closed run of packets from an IDR frame, cached per card file and output format."""

from __future__ import annotations

import shutil
from fractions import Fraction
from pathlib import Path

from anb_devstack.brand import ASSETS_DIR
from anb_transcoder.cards import encoded_card
from anb_transcoder.x264 import OutputFormat

OUTPUT = OutputFormat(Fraction(30), 1280, 720, "veryfast", 23, 60)


def test_a_card_is_a_closed_run_starting_with_a_keyframe() -> None:
    card = encoded_card(ASSETS_DIR / "intro.png", 12, OUTPUT)
    assert card.extradata
    assert card.frames == 12
    assert sorted(packet.pts for packet in card.packets) == list(range(12))
    assert card.packets[0].keyframe
    assert card.packets[0].pts == 0
    assert sum(packet.keyframe for packet in card.packets) == 1


def test_a_long_card_has_a_keyframe_every_two_seconds() -> None:
    card = encoded_card(ASSETS_DIR / "intro.png", 150, OUTPUT)
    assert [packet.pts for packet in card.packets if packet.keyframe] == [0, 60, 120]


def test_the_same_card_is_encoded_once() -> None:
    assert encoded_card(ASSETS_DIR / "intro.png", 12, OUTPUT) is encoded_card(
        ASSETS_DIR / "intro.png", 12, OUTPUT
    )


def test_each_output_format_and_length_gets_its_own_encoding() -> None:
    card = encoded_card(ASSETS_DIR / "intro.png", 12, OUTPUT)
    other_rate = OutputFormat(Fraction(30000, 1001), 1280, 720, "veryfast", 23, 60)
    assert encoded_card(ASSETS_DIR / "intro.png", 12, other_rate) is not card
    assert encoded_card(ASSETS_DIR / "intro.png", 13, OUTPUT).frames == 13


def test_a_changed_card_file_is_encoded_again(tmp_path: Path) -> None:
    card_file = Path(shutil.copy(ASSETS_DIR / "intro.png", tmp_path / "intro.png"))
    before = encoded_card(card_file, 12, OUTPUT)
    shutil.copy(ASSETS_DIR / "outro.png", card_file)  # as a re-fetched brand asset would be
    after = encoded_card(card_file, 12, OUTPUT)
    assert after is not before
    assert after.packets[0].data != before.packets[0].data
