"""While the dashboard runs, fd 2 goes to its log and Textual draws on a descriptor of its own."""

from __future__ import annotations

import subprocess
import sys

from tests.servers import ROOT

PROGRAM = """
import os, sys
from pathlib import Path
from sbtui.tui.stderr_log import stderr_to_log
with stderr_to_log(Path(sys.argv[1])):
    os.write(2, b"from C\\n")             # what gRPC's C core does
    print("from Python", file=sys.stderr)
    sys.__stderr__.write("a frame\\n")    # what Textual does
    sys.__stderr__.flush()
os.write(2, b"after\\n")
"""


def test_fd_2_goes_to_the_log_and_the_terminal_keeps_the_frames(tmp_path):
    log = tmp_path / "dashboard.log"
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(log)], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == "a frame\nafter\n"
    assert log.read_text() == "from C\nfrom Python\n"
    assert log.stat().st_mode & 0o777 == 0o600
