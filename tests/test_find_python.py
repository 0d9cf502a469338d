"""scripts/find-python: the interpreter make builds .venv with, or a message naming what to install."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "find-python"
WANTED = f"{sys.version_info.major}.{sys.version_info.minor}"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["/bin/sh", str(SCRIPT), *args], capture_output=True, text=True, timeout=60, env=env,
                          check=False)  # fmt: skip


def test_a_given_interpreter_of_the_wanted_version_is_taken():
    completed = run(WANTED, sys.executable)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == sys.executable


def test_a_given_interpreter_of_another_version_is_named_and_skipped(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYENV_ROOT": str(tmp_path / "pyenv")}
    completed = run("3.99", sys.executable, env=env)
    assert completed.returncode == 1
    assert f"{sys.executable} is not Python 3.99" in completed.stderr


def test_nothing_found_says_what_to_install(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYENV_ROOT": str(tmp_path / "pyenv")}
    completed = run("3.99", env=env)
    assert completed.returncode == 1
    assert completed.stdout == ""
    hints = ("Python 3.99 is required", "pyenv install 3.99", "uv python install 3.99", "PYTHON=/path/to/python3.99")
    for hint in hints:
        assert hint in completed.stderr
