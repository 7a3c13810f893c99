"""Stale handles of killed processes must not keep the embedded server alive forever."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from app.db.embedded import _prune_dead_handles


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_dead_pids_are_pruned_and_live_ones_kept(tmp_path: Path) -> None:
    handles = tmp_path / ".handle_pids.json"
    handles.write_text(json.dumps([os.getpid(), dead_pid()]))
    _prune_dead_handles(handles)
    assert json.loads(handles.read_text()) == [os.getpid()]


def test_unreadable_handle_file_is_reset(tmp_path: Path) -> None:
    handles = tmp_path / ".handle_pids.json"
    handles.write_text("{not json")
    _prune_dead_handles(handles)
    assert json.loads(handles.read_text()) == []
