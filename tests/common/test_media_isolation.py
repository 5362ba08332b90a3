"""The gateway must never load FFmpeg: only ``anb_common.media`` imports PyAV."""

from __future__ import annotations

import subprocess
import sys


def test_gateway_and_the_rest_of_anb_common_do_not_import_av() -> None:
    code = (
        "import sys\n"
        "import anb_common.aws, anb_common.keys, anb_common.logs, anb_common.messages, anb_common.settings\n"
        "import anb_common.db.models\n"
        "import anb_gateway.app\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] == 'av' or 'anb_common.media' in m]\n"
        "print(sorted(loaded))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
