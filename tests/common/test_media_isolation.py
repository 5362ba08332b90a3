"""FFmpeg stays where it is needed: the gateway never loads it, and neither does the ingest process
that serves requests (it probes in child processes); only ``anb_common.media``'s PyAV modules import
PyAV."""

from __future__ import annotations

import subprocess
import sys


def _loaded(imports: str, which: str) -> str:
    """The modules matching ``which`` (a condition on ``m``) once ``imports`` ran in a fresh Python."""
    code = f"import sys\n{imports}\nprint(sorted(m for m in sys.modules if {which}))\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_gateway_and_the_rest_of_anb_common_do_not_import_av() -> None:
    imports = (
        "import anb_common.aws, anb_common.keys, anb_common.logs, anb_common.messages, anb_common.settings\n"
        "import anb_common.db.models\n"
        "import anb_gateway.app"
    )
    assert _loaded(imports, "m.split('.')[0] == 'av' or 'anb_common.media' in m") == "[]"


def test_ingest_serves_requests_without_loading_ffmpeg() -> None:
    """The process needs the media layer's plain data (facts, sniffing, rules) but no decoder."""
    imports = "import anb_ingest.app\nfrom anb_common.media import MediaFacts, check, sniff"
    assert _loaded(imports, "m.split('.')[0] == 'av'") == "[]"
