"""Terminal rendering of API answers."""

from __future__ import annotations

from rich.console import Console, RenderableType

from anb_cli import render


def _text(renderable: RenderableType) -> str:
    console = Console(record=True, width=200, color_system=None)
    console.print(renderable)
    return console.export_text()


def test_when_formats_iso_utc_and_passes_other_values_through() -> None:
    assert render.when("2026-03-10T14:30:00Z") == "2026-03-10 14:30:00 UTC"
    assert render.when("2026-03-10T14:30:00.123456+00:00") == "2026-03-10 14:30:00 UTC"
    assert render.when("2026-03-10T09:30:00-05:00") == "2026-03-10 09:30:00"
    assert render.when(None) == "-"
    assert render.when("yesterday") == "yesterday"


def test_status_line_shows_progress_only_while_processing() -> None:
    assert render.status_line({"status": "processing", "progress": 42}).plain == "processing 42%"
    assert render.status_line({"status": "processing", "progress": 7.6}).plain == "processing 8%"
    assert render.status_line({"status": "processing"}).plain == "processing"
    assert render.status_line({"status": "processed", "progress": 100}).plain == "processed"


def test_videos_table_lists_every_video_with_whole_ids_even_at_80_columns() -> None:
    ids = ["1f0e2d3c-4b5a-4697-8877-665544332211", "9b2f7a1e-3c4d-4e5f-8a9b-0c1d2e3f4a5b"]
    table = render.videos_table(
        [
            {
                "video_id": ids[0],
                "title": "Clavada en el último segundo del partido",
                "status": "processed",
                "uploaded_at": "2026-03-10T14:30:00Z",
                "processed_at": "2026-03-10T14:31:00Z",
            },
            {
                "video_id": ids[1],
                "title": "Triple",
                "status": "uploaded",
                "uploaded_at": "2026-03-10T15:00:00Z",
            },
        ]
    )
    console = Console(record=True, width=80, color_system=None)
    console.print(table)
    text = console.export_text()
    assert ids[0] in text
    assert ids[1] in text
    assert "2026-03-10 14:30" in text
    assert "uploaded" in text


def test_video_details_skip_missing_fields_and_show_extra_ones() -> None:
    text = _text(
        render.video_details(
            {
                "video_id": "v1",
                "title": "t",
                "status": "failed",
                "error": "el video no se pudo leer",
                "published": False,
                "processed_url": None,
                "future_field": 3,
            }
        )
    )
    assert "el video no se pudo leer" in text
    assert "processed_url" not in text
    assert render.video_links({"original_url": "http://a/b?sig=1", "processed_url": None}) == [
        "original_url: http://a/b?sig=1"
    ]
    assert "published" in text
    assert "no" in text
    assert "future_field" in text


def test_rankings_table_keeps_api_order_and_positions() -> None:
    rows = [
        {"position": 1, "username": "Ana Díaz", "city": "Bogotá", "votes": 1530},
        {"position": 2, "username": "Luis Pérez", "city": "Cali", "votes": 7},
    ]
    text = _text(render.rankings_table(rows, "Bogotá"))
    assert "Rankings — Bogotá" in text
    assert text.index("Ana Díaz") < text.index("Luis Pérez")
    assert "1530" in text
