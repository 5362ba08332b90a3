"""How API answers look in a terminal: rich tables and one-line summaries (pure, no I/O)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rich import box
from rich.table import Table
from rich.text import Text

Json = dict[str, Any]

_STATUS_STYLES = {"uploaded": "cyan", "processing": "yellow", "processed": "green", "failed": "red"}


# Ids are copied from tables into other commands: never truncate or wrap them.
_ID_WIDTH = 36
# No vertical rules: an 80-column terminal then fits a full id beside the other columns.
_BOX = box.SIMPLE_HEAD


def when(value: object, *, seconds: bool = True) -> str:
    """An ISO 8601 timestamp as ``YYYY-MM-DD HH:MM:SS UTC``; other values as they are, '-' for none."""
    if value is None or value == "":
        return "-"
    text = str(value)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    suffix = " UTC" if moment.utcoffset() is not None and not moment.utcoffset() else ""
    return moment.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M") + (suffix if seconds else "")


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
    table = Table(title="Your videos (times in UTC)", title_justify="left", box=_BOX)
    table.add_column("video_id", no_wrap=True, min_width=_ID_WIDTH)
    table.add_column("status", no_wrap=True)
    table.add_column("uploaded", no_wrap=True)
    table.add_column("title", overflow="fold", min_width=8)
    for video in videos:
        table.add_row(
            str(video.get("video_id", "")),
            status(video.get("status")),
            when(video.get("uploaded_at"), seconds=False),
            str(video.get("title", "")),
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
        # Links are printed apart, on one line each, so they can be copied whole.
        if field not in video or video[field] is None or field.endswith("_url"):
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


def video_links(video: Json) -> list[str]:
    return [f"{field}: {value}" for field, value in video.items() if field.endswith("_url") and value]


def public_videos_table(videos: Sequence[Json], city: str | None = None) -> Table:
    title = f"Published videos in {city}" if city else "Published videos"
    table = Table(title=title, title_justify="left", box=_BOX)
    table.add_column("video_id", no_wrap=True, min_width=_ID_WIDTH)
    table.add_column("votes", justify="right")
    table.add_column("title", overflow="fold")
    table.add_column("player", overflow="fold")
    table.add_column("city", overflow="fold")
    for video in videos:
        table.add_row(
            str(video.get("video_id", "")),
            str(video.get("votes", 0)),
            str(video.get("title", "")),
            str(video.get("username", "")),
            str(video.get("city", "")),
        )
    return table


def rankings_table(rows: Sequence[Json], city: str | None = None) -> Table:
    title = f"Rankings — {city}" if city else "Rankings"
    table = Table(title=title, title_justify="left", box=_BOX)
    table.add_column("#", justify="right")
    table.add_column("player", overflow="fold")
    table.add_column("city", overflow="fold")
    table.add_column("votes", justify="right")
    for row in rows:
        table.add_row(
            str(row.get("position", "")),
            str(row.get("username", "")),
            str(row.get("city", "")),
            str(row.get("votes", 0)),
        )
    return table
