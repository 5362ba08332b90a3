"""How API answers look in a terminal: rich tables and one-line summaries (pure, no I/O)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rich.table import Table
from rich.text import Text

Json = dict[str, Any]

_STATUS_STYLES = {"uploaded": "cyan", "processing": "yellow", "processed": "green", "failed": "red"}


def when(value: object) -> str:
    """An ISO 8601 timestamp as ``YYYY-MM-DD HH:MM:SS UTC``; other values as they are, '-' for none."""
    if value is None or value == "":
        return "-"
    text = str(value)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    suffix = " UTC" if moment.utcoffset() is not None and not moment.utcoffset() else ""
    return moment.strftime("%Y-%m-%d %H:%M:%S") + suffix


def status(value: object) -> Text:
    name = str(value) if value is not None else "-"
    return Text(name, style=_STATUS_STYLES.get(name, ""))


def status_line(video: Json) -> Text:
    """``processing 42%`` while processing; the status alone otherwise."""
    line = status(video.get("status"))
    progress = video.get("progress")
    if video.get("status") == "processing" and isinstance(progress, int | float):
        line.append(f" {progress:.0f}%")
    return line


def videos_table(videos: Sequence[Json]) -> Table:
    table = Table(title="Your videos", title_justify="left")
    table.add_column("video_id", no_wrap=True)
    table.add_column("title")
    table.add_column("status")
    table.add_column("uploaded_at", no_wrap=True)
    table.add_column("processed_at", no_wrap=True)
    for video in videos:
        table.add_row(
            str(video.get("video_id", "")),
            str(video.get("title", "")),
            status(video.get("status")),
            when(video.get("uploaded_at")),
            when(video.get("processed_at")),
        )
    return table


_DETAIL_FIELDS = (
    "video_id",
    "title",
    "status",
    "progress",
    "error",
    "published",
    "votes",
    "uploaded_at",
    "processed_at",
    "original_url",
    "processed_url",
)


def video_details(video: Json) -> Table:
    table = Table(show_header=False, box=None, padding=(0, 1))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for field in (*_DETAIL_FIELDS, *(key for key in video if key not in _DETAIL_FIELDS)):
        if field not in video or video[field] is None:
            continue
        value = video[field]
        if field == "status":
            cell: Text | str = status(value)
        elif field.endswith("_at"):
            cell = when(value)
        elif field == "progress":
            cell = f"{value}%"
        elif isinstance(value, bool):
            cell = "yes" if value else "no"
        else:
            cell = str(value)
        table.add_row(field, cell)
    return table


def public_videos_table(videos: Sequence[Json], city: str | None = None) -> Table:
    title = f"Published videos in {city}" if city else "Published videos"
    table = Table(title=title, title_justify="left")
    table.add_column("video_id", no_wrap=True)
    table.add_column("title")
    table.add_column("player")
    table.add_column("city")
    table.add_column("votes", justify="right")
    for video in videos:
        table.add_row(
            str(video.get("video_id", "")),
            str(video.get("title", "")),
            str(video.get("username", "")),
            str(video.get("city", "")),
            str(video.get("votes", 0)),
        )
    return table


def rankings_table(rows: Sequence[Json], city: str | None = None) -> Table:
    title = f"Rankings — {city}" if city else "Rankings"
    table = Table(title=title, title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("player")
    table.add_column("city")
    table.add_column("votes", justify="right")
    for row in rows:
        table.add_row(
            str(row.get("position", "")),
            str(row.get("username", "")),
            str(row.get("city", "")),
            str(row.get("votes", 0)),
        )
    return table
