"""Transcode speed: the project's PyAV pipeline against the ffmpeg CLI and naive MoviePy, same run.

A 45 s 1080p30 H.264+AAC clip (generated once, cached under .devdata/bench/) becomes the processed
video of the API contract (first 30 s, 1280x720 padded, watermark, 2.5 s intro and outro, no audio,
libx264 veryfast CRF 23, faststart) three ways:

- project: ``anb_transcoder.pipeline.transcode`` called three times in a child process (its peak
  RSS is that child's), timing each call itself, as a worker pays it: imports happen once per
  worker, and so does encoding the intro and outro cards (``cards.py``), so the first job of a
  worker pays that and every later one does not. ``project_s`` is a later call, a worker's usual job,
  with the poster, storyboard and HLS rendition a job makes (#17); the first call is reported beside
  it (``first_job_s``, ``first_job_over_ffmpeg_cli``). The third call is the same job without the
  derivatives, run just before or just after (the order alternates between runs), so that
  ``derivatives_overhead_pct`` compares two jobs of one process under the same load;
- ffmpeg CLI: one ``filter_complex`` doing the same job with the same x264 settings (wall time of
  the process);
- MoviePy as the original worker used it (``VideoFileClip(...).subclipped(0, 30)``, letterbox,
  watermark ImageClip, cards concatenated, ``write_videofile(codec="libx264", audio=False)``).

ffmpeg and project runs alternate, so that load from anything else on the machine hits both alike.
The last line printed is one JSON object; the same object goes to bench/results/transcode.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".devdata" / "bench"
SOURCE = CACHE / "source-45s-1080p30-h264-aac.mp4"
RESULTS = ROOT / "bench" / "results" / "transcode.json"
# A phone-like 1080p30 bitrate (~15 Mbit/s, 45 s ≈ 85 MB, under the 100 MB upload limit).
SOURCE_X264 = {"preset": "veryfast", "x264-params": "bitrate=15000:vbv-maxrate=18000:vbv-bufsize=30000"}
TARGETS = {
    "project_over_ffmpeg_cli": 0.85,
    "moviepy_over_project": 5.0,
    "peak_rss_mb": 300.0,
    "derivatives_overhead_pct": 5.0,
}


def ensure_source() -> Path:
    if not SOURCE.exists():
        from anb_devstack.clips import make_clip

        CACHE.mkdir(parents=True, exist_ok=True)
        print(f"generating {SOURCE.relative_to(ROOT)} (once) ...", flush=True)
        partial = SOURCE.with_suffix(".partial.mp4")
        make_clip(partial, width=1920, height=1080, seconds=45, fps=30, audio=True, options=SOURCE_X264)
        partial.replace(SOURCE)
    return SOURCE


def brand_paths() -> tuple[Path, Path, Path]:
    from anb_devstack.brand import ASSETS_DIR

    return ASSETS_DIR / "logo.png", ASSETS_DIR / "intro.png", ASSETS_DIR / "outro.png"


def run_child(argv: list[str]) -> tuple[float, float, float, str]:
    """Run a process; (wall s, CPU s, peak RSS MB, stdout) of that one child, via wait4."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        out.seek(0)
        text = out.read().decode()
    if process.returncode != 0:
        raise RuntimeError(f"{argv[:3]} exited with {process.returncode}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, text


def project_once(src: Path, dst: Path, bare_first: bool = False) -> dict[str, float]:
    """A worker's first job and its next ones on ``src``: ``s`` is a next one (the usual job, with
    derivatives), ``bare_s`` the same job without them (run first when ``bare_first``)."""
    kind = "project-bare-first" if bare_first else "project"
    wall, cpu, rss, text = run_child([sys.executable, __file__, "--child", kind, str(src), str(dst)])
    first_s, first_cpu_s, next_s, next_cpu_s, bare_s, bare_cpu_s = (float(value) for value in text.split())
    return {"s": next_s, "cpu_s": next_cpu_s, "first_s": first_s, "first_cpu_s": first_cpu_s,
            "bare_s": bare_s, "bare_cpu_s": bare_cpu_s,
            "process_s": wall, "process_cpu_s": cpu, "rss_mb": rss}  # fmt: skip


def ffmpeg_once(src: Path, dst: Path) -> dict[str, float]:
    logo, intro, outro = brand_paths()
    graph = (
        "[1:v]fps=30,scale=1280:720:force_original_aspect_ratio=decrease:flags=bicubic,"
        "pad=1280:720:(ow-iw)/2:(oh-ih)/2,setsar=1[fit];"
        "[fit][2:v]overlay=W-w-24:H-h-24:format=yuv420[marked];"
        "[0:v]format=yuv420p,setsar=1[intro];[3:v]format=yuv420p,setsar=1[outro];"
        "[intro][marked][outro]concat=n=3:v=1:a=0,format=yuv420p[out]"
    )
    card = ["-loop", "1", "-framerate", "30", "-t", "2.5", "-i"]
    argv = [
        "ffmpeg", "-nostdin", "-v", "error", "-y",
        *card, str(intro),
        "-t", "30", "-i", str(src),
        "-i", str(logo),
        *card, str(outro),
        "-filter_complex", graph, "-map", "[out]", "-an",
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p",
        "-movflags", "+faststart", str(dst),
    ]  # fmt: skip
    wall, cpu, rss, _ = run_child(argv)
    return {"s": wall, "process_s": wall, "cpu_s": cpu, "rss_mb": rss}


def moviepy_once(src: Path, dst: Path) -> dict[str, float]:
    wall, cpu, rss, _ = run_child([sys.executable, __file__, "--child", "moviepy", str(src), str(dst)])
    return {"s": wall, "process_s": wall, "cpu_s": cpu, "rss_mb": rss}


def child_project(src: Path, dst: Path, bare_first: bool) -> None:
    """Prints wall and CPU seconds of: the first job, a next job, the next job without derivatives."""
    import shutil

    from anb_transcoder.brand import BrandAssets
    from anb_transcoder.pipeline import transcode
    from anb_transcoder.settings import ProcessingSettings

    brand = BrandAssets(*brand_paths())
    derivatives = dst.with_name(dst.stem + "-derivatives")
    took: dict[str, list[float]] = {}
    for job in ("first", *(("bare", "next") if bare_first else ("next", "bare"))):
        shutil.rmtree(derivatives, ignore_errors=True)
        started, cpu_before = time.perf_counter(), time.process_time()
        transcode(src, dst, brand, ProcessingSettings(), derivatives=None if job == "bare" else derivatives)
        took[job] = [time.perf_counter() - started, time.process_time() - cpu_before]
    print(*took["first"], *took["next"], *took["bare"])


def child_moviepy(src: Path, dst: Path) -> None:
    """The original worker's way: whole-frame numpy compositing in Python, piped to ffmpeg."""
    from moviepy import ColorClip, CompositeVideoClip, ImageClip, VideoFileClip, concatenate_videoclips

    logo, intro, outro = brand_paths()
    clip = VideoFileClip(str(src)).subclipped(0, 30)
    clip = clip.resized(width=1280) if clip.w / clip.h >= 1280 / 720 else clip.resized(height=720)
    footage = CompositeVideoClip(
        [
            ColorClip((1280, 720), color=(0, 0, 0), duration=clip.duration),
            clip.with_position("center"),
            ImageClip(str(logo)).with_duration(clip.duration).with_position((1280 - 224, 720 - 104)),
        ],
        size=(1280, 720),
    )
    cards = [ImageClip(str(card)).with_duration(2.5) for card in (intro, outro)]
    final = concatenate_videoclips([cards[0], footage, cards[1]])
    final.write_videofile(str(dst), codec="libx264", audio=False, logger=None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of the project and the ffmpeg CLI")
    parser.add_argument("--moviepy-runs", type=int, default=1, help="runs of MoviePy (0 skips it)")
    parser.add_argument("--child", nargs=3, metavar=("KIND", "SRC", "DST"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, src, dst = args.child
        if kind.startswith("project"):
            child_project(Path(src), Path(dst), bare_first=kind == "project-bare-first")
        else:
            child_moviepy(Path(src), Path(dst))
        return

    src = ensure_source()
    runs: dict[str, list[dict[str, float]]] = {"project": [], "ffmpeg_cli": [], "moviepy": []}
    with tempfile.TemporaryDirectory(prefix="anb-bench-") as tmp:
        out = Path(tmp)
        for index in range(args.runs):
            runs["ffmpeg_cli"].append(ffmpeg_once(src, out / f"ffmpeg-{index}.mp4"))
            runs["project"].append(project_once(src, out / f"project-{index}.mp4", bare_first=index % 2 == 1))
            project = runs["project"][-1]
            print(f"run {index + 1}/{args.runs}: ffmpeg {runs['ffmpeg_cli'][-1]['s']:.2f} s, project "
                  f"{project['s']:.2f} s (first job {project['first_s']:.2f} s, without derivatives "
                  f"{project['bare_s']:.2f} s)", flush=True)  # fmt: skip
        for index in range(args.moviepy_runs):
            runs["moviepy"].append(moviepy_once(src, out / f"moviepy-{index}.mp4"))
            print(f"moviepy {runs['moviepy'][-1]['s']:.2f} s", flush=True)

    def median(kind: str, field: str) -> float | None:
        values = [run[field] for run in runs[kind]]
        return statistics.median(values) if values else None

    print(f"\nsource: {src.relative_to(ROOT)} ({src.stat().st_size / 1e6:.0f} MB); "
          f"load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")  # fmt: skip
    print(f"{'pipeline':<12}{'runs':>5}{'wall s':>9}{'CPU s':>8}{'peak RSS MB':>13}")
    for kind in runs:
        if runs[kind]:
            print(f"{kind:<12}{len(runs[kind]):>5}{median(kind, 's'):>9.2f}{median(kind, 'cpu_s'):>8.2f}"
                  f"{max(r['rss_mb'] for r in runs[kind]):>13.0f}")  # fmt: skip
    first_s = median("project", "first_s")
    assert first_s is not None
    first_cpu_s = median("project", "first_cpu_s")
    print(f"{'  1st job':<12}{len(runs['project']):>5}{first_s:>9.2f}{first_cpu_s:>8.2f}")
    bare_s, bare_cpu_s = median("project", "bare_s"), median("project", "bare_cpu_s")
    assert bare_s is not None
    print(f"{'  no deriv.':<12}{len(runs['project']):>5}{bare_s:>9.2f}{bare_cpu_s:>8.2f}")
    # Each run's two jobs ran back to back in one process: their ratio cancels the load they shared.
    overhead = statistics.median(run["s"] / run["bare_s"] - 1 for run in runs["project"]) * 100
    overhead_cpu = statistics.median(run["cpu_s"] / run["bare_cpu_s"] - 1 for run in runs["project"]) * 100
    process_s, process_cpu_s = median("project", "process_s"), median("project", "process_cpu_s")
    print(f"(project rows time the transcode calls; each child process, imports and its three jobs, took "
          f"{process_s:.2f} s and {process_cpu_s:.2f} CPU s)")  # fmt: skip

    project_s, ffmpeg_s, moviepy_s = median("project", "s"), median("ffmpeg_cli", "s"), median("moviepy", "s")
    assert project_s is not None
    assert ffmpeg_s is not None
    result: dict[str, Any] = {
        "project_over_ffmpeg_cli": round(project_s / ffmpeg_s, 3),
        "moviepy_over_project": round(moviepy_s / project_s, 2) if moviepy_s is not None else None,
        "peak_rss_mb": round(max(run["rss_mb"] for run in runs["project"]), 1),
        "project_s": round(project_s, 2),
        "ffmpeg_cli_s": round(ffmpeg_s, 2),
        "moviepy_s": round(moviepy_s, 2) if moviepy_s is not None else None,
        "first_job_over_ffmpeg_cli": round(first_s / ffmpeg_s, 3),
        "first_job_s": round(first_s, 2),
        "derivatives_overhead_pct": round(overhead, 1),
        "derivatives_overhead_cpu_pct": round(overhead_cpu, 1),
        "project_without_derivatives_s": round(bare_s, 2),
    }
    for key, target in TARGETS.items():
        value = result[key]
        met = value is not None and (value >= target if key == "moviepy_over_project" else value <= target)
        print(f"{key}: {value} (target {'>=' if key == 'moviepy_over_project' else '<='} {target}) "
              f"{'met' if met else 'NOT met'}")  # fmt: skip
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(result)
    RESULTS.write_text(line + "\n")
    print(line)


if __name__ == "__main__":
    main()
