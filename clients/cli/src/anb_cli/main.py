"""``anb``: the ANB Video command line (typer commands; HTTP lives in api.py, tokens in credentials.py)."""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from anb_cli import credentials, render, resume, tus
from anb_cli.api import DEFAULT_API_URL, FINAL_STATUSES, ApiError, ApiUnreachable, Client, Json
from anb_cli.multipart import FileChangedError

app = typer.Typer(
    name="anb",
    help="ANB Video from the command line: sign up, upload clips, follow their processing, vote.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Long values (tokens' paths, presigned URLs) stay on one line so they can be copied.
out = Console(soft_wrap=True)
err = Console(stderr=True)

TITLE_MAX = 200

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class State:
    api: str


class NotLoggedIn(Exception):
    pass


class Interrupted(Exception):
    """A resumable upload stopped before its end; running the command again resumes it."""


_RESUMABLE_REFUSALS = frozenset({408, 423, 429, 500, 502, 503, 504})
"""Refusals of a PATCH that pass by themselves (too slow a link, a lease still held, a service
restarting): what the server stored stays, and the same command resumes from there."""


def _state(ctx: typer.Context) -> State:
    state = ctx.find_root().obj
    return state if isinstance(state, State) else State(DEFAULT_API_URL)


def _fail(message: str, code: int = 1) -> typer.Exit:
    # The API's detail is text, not markup: "[1080p]" must print as it is.
    err.print(f"[bold red]Error:[/] {escape(message)}", highlight=False)
    return typer.Exit(code)


def handles_errors(command: Callable[P, R]) -> Callable[P, R]:
    """API errors print their ``detail`` and exit 1; an unreachable API says so plainly."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except ApiError as error:
            message = f"{error.detail} (HTTP {error.status_code})"
            if error.status_code == 401:
                message += "\nRun `anb login` to get a new token."
            raise _fail(message) from None
        except ApiUnreachable as error:
            raise _fail(
                f"cannot reach the ANB API at {error.url} ({error.reason}).\n"
                "Is the platform running (`make run`), and is --api / ANB_API_URL right?"
            ) from None
        except (NotLoggedIn, FileChangedError, Interrupted) as error:
            raise _fail(str(error)) from None

    return wrapper


def _public(ctx: typer.Context) -> Client:
    return Client(_state(ctx).api)


def _authenticated(ctx: typer.Context) -> Client:
    api = _state(ctx).api
    saved = credentials.load(api)
    if saved is None:
        raise NotLoggedIn(f"not logged in to {api}: run `anb login` first.")
    if saved.expired():
        raise NotLoggedIn(f"your session on {api} has expired: run `anb login` again.")
    return Client(api, saved.access_token)


class _Bar:
    """A rich progress bar (bytes, rate, ETA) fed by the API client's transfer callbacks."""

    def __init__(self, progress: Progress, description: str, done: str | None = None) -> None:
        self._progress = progress
        self._description = description
        self._done = done
        self._task: TaskID | None = None
        self._total: int | None = None
        self._sent = 0

    def start(self, total: int | None) -> None:
        self._total = total
        self._task = self._progress.add_task(self._description, total=total)

    def advance(self, size: int) -> None:
        if self._task is None:
            return
        self._sent += size
        self._progress.advance(self._task, size)
        # The API answers an upload only after checking and storing it: say so, or a full bar looks stuck.
        if self._done is not None and self._total is not None and self._sent >= self._total:
            self._progress.update(self._task, description=self._done)


@contextmanager
def _transfer_bar(description: str, done: str | None = None) -> Iterator[_Bar]:
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err, transient=False) as progress:
        yield _Bar(progress, description, done)


@app.callback()
def main(
    ctx: typer.Context,
    api: Annotated[
        str, typer.Option("--api", envvar="ANB_API_URL", help="Base URL of the ANB Video API.")
    ] = DEFAULT_API_URL,
) -> None:
    ctx.obj = State(api.rstrip("/"))


@app.command()
@handles_errors
def signup(
    ctx: typer.Context,
    first_name: Annotated[str, typer.Option(prompt=True)],
    last_name: Annotated[str, typer.Option(prompt=True)],
    email: Annotated[str, typer.Option(prompt=True)],
    city: Annotated[str, typer.Option(prompt=True)],
    country: Annotated[str, typer.Option(prompt=True)],
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, envvar="ANB_PASSWORD")
    ],
) -> None:
    """Create a player account."""
    with _public(ctx) as client:
        answer = client.signup(
            first_name=first_name,
            last_name=last_name,
            email=email,
            password1=password,
            password2=password,
            city=city,
            country=country,
        )
    out.print(
        f"{answer.get('message', 'Account created.')} user_id: {answer.get('user_id')}", highlight=False
    )
    out.print("Next: `anb login`.")


@app.command()
@handles_errors
def login(
    ctx: typer.Context,
    email: Annotated[str, typer.Option(prompt=True)],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, envvar="ANB_PASSWORD")],
) -> None:
    """Log in and keep the access token in your config dir (readable only by you)."""
    api = _state(ctx).api
    with _public(ctx) as client:
        answer = client.login(email, password)
    expires_in = float(answer.get("expires_in", 3600))
    saved = credentials.save(
        credentials.Credentials(
            api=api,
            email=email,
            access_token=str(answer["access_token"]),
            expires_at=time.time() + expires_in,
        )
    )
    out.print(f"Logged in as {email} for {expires_in / 60:.0f} min; token saved in {saved}", highlight=False)


@app.command()
def logout(ctx: typer.Context) -> None:
    """Forget the saved token for this API."""
    api = _state(ctx).api
    if credentials.forget(api):
        out.print(f"Logged out of {api}.", highlight=False)
    else:
        out.print(f"Not logged in to {api}.", highlight=False)


@app.command()
@handles_errors
def upload(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, metavar="FILE", help="Video file.")
    ],
    title: Annotated[str, typer.Option("--title", "-t", help="Title, 1-200 characters.")],
    wait: Annotated[bool, typer.Option("--wait", "-w", help="Follow processing until it ends.")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds --wait waits at most.")] = 900.0,
    resumable: Annotated[
        bool,
        typer.Option(
            "--resume/--no-resume",
            help="Resumable upload (tus): an interrupted one continues where it stopped when run again "
            "on the same file. --no-resume sends the file in one request.",
        ),
    ] = True,
) -> None:
    """Upload a clip (20-60 s, at least 1080p, MP4/MOV/WebM/MKV), streamed from disk."""
    # Checked here too so a long clip is not sent only to be refused for its title.
    if not 1 <= len(title) <= TITLE_MAX:
        raise typer.BadParameter(f"must have 1 to {TITLE_MAX} characters", param_hint="'--title'")
    with _authenticated(ctx) as client:
        # The gateway refuses a bad token before reading the body, which a client still sending a large
        # file sees as a broken connection: ask first, so an expired login reads as one.
        client.videos(limit=1)
        with client.resumable() as session:
            offered = resumable and session.offered()
        if offered:
            video_id = _upload_resumable(client, _state(ctx).api, file, title)
            out.print(UPLOADED, highlight=False)
        else:
            with _transfer_bar(f"Uploading {file.name}", f"Sent {file.name}, server checking") as bar:
                answer = client.upload(file, title, bar)
            video_id = str(answer["video_id"])
            out.print(answer.get("message", "Uploaded."), highlight=False)
        out.print(f"video_id: {video_id}", highlight=False)
        if wait:
            video = _follow(client, video_id, timeout)
            out.print(render.status_line(video))
            out.print(f"processed_url: {video.get('processed_url')}", highlight=False, soft_wrap=True)


UPLOADED = "Video subido correctamente. Procesamiento en curso."
"""What the one-request upload answers; a finished resumable upload is the same video."""


def _upload_resumable(client: Client, api: str, file: Path, title: str) -> str:
    """Send ``file`` with tus, resuming this file's unfinished upload if there is one; its video id."""
    length = file.stat().st_size
    digest = resume.digest(file)
    pending = resume.load(api, digest)
    offset = 0
    with client.resumable() as session:
        if pending is not None:
            try:
                offset = session.offset(pending.url)
            except tus.UploadGone:
                resume.forget(api, digest)
                pending = None
            except tus.Refused as refused:
                raise ApiError.from_response(refused.response) from None
        if pending is not None:
            again = max(pending.sent - offset, 0)
            out.print(
                f"Resuming {file.name} at byte {offset} of {length}: {again} bytes sent before were "
                "not stored and are sent again.",
                highlight=False,
            )
        else:
            try:
                created = session.create(length, title, file.name)
            except tus.Refused as refused:
                raise ApiError.from_response(refused.response) from None
            pending = resume.Pending(api, digest, created.url, length, created.expires_at)
            resume.save(pending)
    reached = offset

    def sent(position: int) -> None:
        nonlocal reached
        bar.advance(position - reached)
        reached = position

    try:
        with (
            client.resumable() as session,
            _transfer_bar(f"Uploading {file.name}", f"Sent {file.name}, server checking") as bar,
        ):
            bar.start(length)
            bar.advance(offset)
            session.send(pending.url, file, offset, length, sent)
    except tus.Refused as refused:
        if refused.response.status_code == 400:
            # The clip breaks a rule (the server has terminated the upload) or a request was malformed:
            # either way this upload cannot go on; cancel it so that it holds nothing until it expires.
            with contextlib.suppress(ApiUnreachable), client.resumable() as session:
                session.terminate(pending.url)
            resume.forget(api, digest)
            raise ApiError.from_response(refused.response) from None
        resume.save(pending.having_sent(reached))
        error = ApiError.from_response(refused.response)
        if error.status_code in _RESUMABLE_REFUSALS:
            raise Interrupted(
                f"upload interrupted after {reached} of {length} bytes: {error.detail} "
                f"(HTTP {error.status_code}).\nRun the same command again to resume where the "
                "server stopped storing."
            ) from None
        raise error from None
    except ApiUnreachable as error:
        resume.save(pending.having_sent(reached))
        raise Interrupted(
            f"upload interrupted after {reached} of {length} bytes ({error.reason}).\n"
            "Run the same command again to resume where the server stopped storing."
        ) from None
    except BaseException:
        resume.save(pending.having_sent(reached))
        raise
    resume.forget(api, digest)
    return tus.video_id(pending.url)


def _follow(client: Client, video_id: str, timeout: float) -> Json:
    """Show the video's processing live until it ends; the final detail, or exit 1 when it failed."""
    seen: list[str] = []
    with err.status("waiting for processing…") as live:

        def show(video: Json) -> None:
            line = render.status_line(video)
            live.update(line)
            # Without a terminal the live line is not drawn: log each change of status instead.
            status = video.get("status")
            if not err.is_terminal and status not in seen and status not in FINAL_STATUSES:
                seen.append(str(status))
                err.print(line)

        try:
            video = client.wait(video_id, show, timeout=timeout)
        except TimeoutError as error:
            raise _fail(str(error)) from None
    if video.get("status") == "failed":
        raise _fail(f"processing failed: {video.get('error') or 'no reason given'}")
    return video


@app.command("ls")
@handles_errors
def list_videos(
    ctx: typer.Context,
    limit: Annotated[int | None, typer.Option(min=1, max=100)] = None,
    offset: Annotated[int | None, typer.Option(min=0)] = None,
) -> None:
    """List your videos, newest first."""
    with _authenticated(ctx) as client:
        videos = client.videos(limit=limit, offset=offset)
    if videos:
        out.print(render.videos_table(videos))
    else:
        out.print("No videos yet: `anb upload FILE --title T`.")


@app.command()
@handles_errors
def show(
    ctx: typer.Context,
    video_id: Annotated[str, typer.Argument(metavar="ID")],
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Follow processing live until it ends, then show.")
    ] = False,
    timeout: Annotated[float, typer.Option(help="Seconds --follow waits at most.")] = 900.0,
) -> None:
    """Show one of your videos (status, progress, votes; links to download it, its poster, storyboard
    and HLS playlist)."""
    with _authenticated(ctx) as client:
        video = _follow(client, video_id, timeout) if follow else client.video(video_id)
    out.print(render.video_details(video))
    for line in render.video_links(video):
        out.print(line, highlight=False)


@app.command()
@handles_errors
def download(
    ctx: typer.Context,
    video_id: Annotated[str, typer.Argument(metavar="ID")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", dir_okay=False, help="File to write.")
    ] = None,
) -> None:
    """Download the processed video (default: ID.mp4 in the current folder)."""
    with _authenticated(ctx) as client:
        video = client.video(video_id)
        url = video.get("processed_url")
        if video.get("status") != "processed" or not url:
            raise _fail(f"video {video_id} is {video.get('status')}, not processed: nothing to download yet.")
        target = output or Path(f"{video.get('video_id', video_id)}.mp4")
        with _transfer_bar(f"Downloading {target.name}") as bar:
            size = client.download(str(url), target, bar)
    out.print(f"Saved {size} bytes to {target}", highlight=False)


@app.command()
@handles_errors
def publish(ctx: typer.Context, video_id: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """Publish a processed video for public voting."""
    with _authenticated(ctx) as client:
        answer = client.publish(video_id)
    out.print(answer.get("message", "Published."), highlight=False)


@app.command()
@handles_errors
def poster(
    ctx: typer.Context,
    video_id: Annotated[str, typer.Argument(metavar="ID")],
    at: Annotated[
        float, typer.Option("--at", help="Seconds from the start of your footage (after the intro card).")
    ],
) -> None:
    """Pick the poster of a processed video: the frame at that moment of your footage."""
    with _authenticated(ctx) as client:
        answer = client.pick_poster(video_id, at)
    out.print(answer.get("message", "Poster updated."), highlight=False)
    out.print(f"poster_url: {answer.get('poster_url')}", highlight=False)


@app.command()
@handles_errors
def delete(
    ctx: typer.Context,
    video_id: Annotated[str, typer.Argument(metavar="ID")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete one of your videos (not possible once published)."""
    if not yes:
        typer.confirm(f"Delete video {video_id} and its files for good?", abort=True)
    with _authenticated(ctx) as client:
        answer = client.delete(video_id)
    out.print(answer.get("message", "Deleted."), highlight=False)


@app.command()
@handles_errors
def vote(ctx: typer.Context, video_id: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """Vote for a published video (one vote per video)."""
    with _authenticated(ctx) as client:
        answer = client.vote(video_id)
    out.print(answer.get("message", "Voted."), highlight=False)


@app.command()
@handles_errors
def videos(
    ctx: typer.Context,
    city: Annotated[str | None, typer.Option(help="Only players from this city.")] = None,
    limit: Annotated[int | None, typer.Option(min=1, max=100)] = None,
    offset: Annotated[int | None, typer.Option(min=0)] = None,
) -> None:
    """List published videos, most voted first (no login needed)."""
    with _public(ctx) as client:
        rows = client.public_videos(city=city, limit=limit, offset=offset)
    out.print(render.public_videos_table(rows, city))


@app.command()
@handles_errors
def rankings(
    ctx: typer.Context,
    city: Annotated[str | None, typer.Option(help="Only players from this city.")] = None,
    limit: Annotated[int | None, typer.Option(min=1, max=100)] = None,
    offset: Annotated[int | None, typer.Option(min=0)] = None,
) -> None:
    """Players ranked by the votes of their published videos."""
    with _public(ctx) as client:
        rows = client.rankings(city=city, limit=limit, offset=offset)
    out.print(render.rankings_table(rows, city))
