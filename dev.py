#!/usr/bin/env python3
"""The README's two commands, with nothing but Python 3.11+ installed.

    python3 dev.py run    # .venv, dependencies, embedded PostgreSQL, demo data, GraphiQL on :8000
    python3 dev.py test   # .venv, dependencies, the whole test suite (extra args go to pytest)

The virtualenv is (re)installed only when pyproject.toml changed since the last install.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".bountyexpo-installed"


def ensure_venv() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036  (read by older Pythons, to say why)
        sys.exit(f"BountyExpo needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    if not (BIN / "python").exists() and not (BIN / "python.exe").exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    print("installing dependencies into .venv", flush=True)
    pip = [str(BIN / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "-e", f"{ROOT}[dev]"], check=True)
    STAMP.write_text(wanted)


def main() -> int:  # noqa: RET503  (os.execv does not return)
    command, args = (sys.argv[1], sys.argv[2:]) if len(sys.argv) > 1 else ("", [])
    if command not in {"run", "test"}:
        print(__doc__)
        return 2
    ensure_venv()
    if command == "run":
        argv = [str(BIN / "bountyexpo"), "serve", "--seed", *args]
    else:
        argv = [str(BIN / "python"), "-m", "pytest", *args]
    os.chdir(ROOT)
    if os.name == "nt":
        return subprocess.call(argv)
    # Replace this process, so Ctrl-C and SIGTERM reach the gateway (and it stops PostgreSQL).
    os.execv(argv[0], argv)


if __name__ == "__main__":
    sys.exit(main())
