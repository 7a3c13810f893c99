#!/usr/bin/env python3
"""The README's two commands, with nothing but Python 3.11+ installed.

    python3 dev.py run    # .venv, dependencies, embedded PostgreSQL, demo data, GraphiQL on :8000
    python3 dev.py test   # .venv, dependencies, the whole test suite (extra args go to pytest)
    python3 dev.py lock   # refresh requirements/*.lock from pyproject.toml (--check: only compare)

Dependencies install from requirements/dev.lock, every file checked against its hash, so every
machine gets what CI tested; the virtualenv is (re)installed only when pyproject.toml or the
lock changed since the last install.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".bountyexpo-installed"
LOCKS = ROOT / "requirements"
# Resolved for every platform (universal markers) and the oldest Python we support.
COMPILE = ["pip", "compile", "pyproject.toml", "--generate-hashes", "--universal"]
COMPILE += ["--python-version", "3.11", "-q"]
LOCK_FILES = {"runtime.lock": [], "dev.lock": ["--extra", "dev"]}


def ensure_venv(*, strict: bool = True) -> None:
    if sys.version_info < (3, 11):  # noqa: UP036  (read by older Pythons, to say why)
        sys.exit(f"BountyExpo needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    if not (BIN / "python").exists() and not (BIN / "python.exe").exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes())
    digest.update((LOCKS / "dev.lock").read_bytes())
    wanted = digest.hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    print("installing dependencies into .venv (requirements/dev.lock)", flush=True)
    pip = [str(BIN / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "--require-hashes", "-r", str(LOCKS / "dev.lock")], check=True)
    # The project itself (editable: no single file to hash), its dependencies already in place.
    subprocess.run([*pip, "install", "--no-deps", "-e", str(ROOT)], check=True)
    if subprocess.run([*pip, "check"]).returncode != 0:
        if strict:
            sys.exit(
                "requirements/dev.lock lacks what pyproject.toml asks for: python3 dev.py lock"
            )
        return  # `lock` is about to fix it
    STAMP.write_text(wanted)


def lock(check: bool) -> int:
    """Compile the locks with uv (a dev dependency); keep pins already in them unless needed."""
    uv = BIN / "uv"
    with tempfile.TemporaryDirectory() as scratch:
        stale = []
        for name, extra in LOCK_FILES.items():
            target = Path(scratch) / name
            if (LOCKS / name).exists():
                shutil.copy(LOCKS / name, target)  # its pins are uv's preferences
            command = [str(uv), *COMPILE, *extra, "-o", str(target)]
            subprocess.run(command, check=True, cwd=ROOT, env={**os.environ, "UV_NO_CONFIG": "1"})
            fresh = _pins(target.read_text())
            if not (LOCKS / name).exists() or fresh != _pins((LOCKS / name).read_text()):
                stale.append(name)
                if not check:
                    LOCKS.mkdir(exist_ok=True)
                    text = target.read_text().replace(str(target), f"requirements/{name}")
                    (LOCKS / name).write_text(text)
        if check and stale:
            print(f"stale: {', '.join(stale)}; run python3 dev.py lock", file=sys.stderr)
            return 1
        print("locks current" if check or not stale else f"updated: {', '.join(stale)}")
        return 0


def _pins(text: str) -> list[str]:
    """The lock without its comments (the header names the output path)."""
    return [
        line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]


def main() -> int:  # noqa: RET503  (os.execv does not return)
    command, args = (sys.argv[1], sys.argv[2:]) if len(sys.argv) > 1 else ("", [])
    if command not in {"run", "test", "lock"}:
        print(__doc__)
        return 2
    ensure_venv(strict=command != "lock")
    if command == "lock":
        return lock(check="--check" in args)
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
