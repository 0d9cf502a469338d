"""`.emulator/emulator.env` loads the same in bash (`set -a; . FILE; set +a`) and in python-dotenv.

docs/caller.md ("Calling it locally") tells a caller to load the file either way; an unquoted
`ROLLOVER_SCHEDULE=0 0 3 * * *` made the shell run `0` with `*` expanded, and a relative CA path
stopped working as soon as the caller's process ran from another directory.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dotenv import dotenv_values

from emulator.env_file import UnquotableValue, format_dotenv, write_dotenv

ROOT = Path(__file__).resolve().parents[1]
BASH = shutil.which("bash")
# Prints the variables named on the command line as JSON (those absent: null).
_DUMP = "import json, os, sys; json.dump({n: os.environ.get(n) for n in sys.argv[1:]}, sys.stdout)"


def _load_with_bash(path: Path, names: list[str], cwd: Path) -> dict[str, str | None]:
    """What a shell user gets: `set -a; . FILE; set +a`, then a child process reads its environment."""
    assert BASH, "bash is needed to check the documented loader"
    script = 'set -eu; set -a; . "$1"; set +a; shift; exec "$PYTHON" -c "$DUMP" "$@"'
    completed = subprocess.run(
        [BASH, "-c", script, "bash", str(path), *names],
        # A clean environment: nothing but what the file sets may satisfy the comparison.
        env={"PATH": os.environ.get("PATH", ""), "PYTHON": sys.executable, "DUMP": _DUMP},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == "", completed.stderr  # e.g. "0: command not found"
    return json.loads(completed.stdout)


def _load_with_dotenv(path: Path) -> dict[str, str | None]:
    return dict(dotenv_values(path))


TRICKY = {
    "ROLLOVER_SCHEDULE": "0 0 3 * * *",
    "GLOB": "*",
    "DOLLAR": "$HOME $(id) `id` $",
    "HASH": "a #not-a-comment",
    "DOUBLE_QUOTES": 'say "hi"',
    "SEPARATORS": "a;b&c|d>e<f",
    "EQUALS": "a=b==",
    "SPACES": "  padded  ",
    "EMPTY": "",
    "URL": "https://127.0.0.1:50123/?a=1&b=2",
    "LIST": "/subscriptions/x/a,/subscriptions/y/b",
    "UNICODE": "Contoso émulé",
}


def test_tricky_values_round_trip_through_bash_and_dotenv(tmp_path: Path):
    path = tmp_path / "emulator.env"
    write_dotenv(path, TRICKY)
    # A directory full of files, so an unquoted `*` would visibly expand.
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    assert _load_with_bash(path, list(TRICKY), cwd=tmp_path) == TRICKY
    assert _load_with_dotenv(path) == TRICKY


@pytest.mark.parametrize(
    "env",
    [
        {"A": "it's"},
        {"A": "C:\\path"},
        {"A": "two\nlines"},
        {"A": "cr\r"},
        {"A": "${HOME}"},
        {"1A": "x"},
        {"A-B": "x"},
        {"": "x"},
    ],
)
def test_values_no_spelling_can_round_trip_are_refused(env: dict[str, str]):
    with pytest.raises(UnquotableValue):
        format_dotenv(env)


def test_write_is_all_or_nothing(tmp_path: Path):
    path = tmp_path / "emulator.env"
    write_dotenv(path, {"A": "1"})
    with pytest.raises(UnquotableValue):
        write_dotenv(path, {"A": "2", "B": "it's"})
    assert path.read_text(encoding="utf-8") == "A='1'\n"
    assert [p.name for p in tmp_path.iterdir()] == ["emulator.env"]  # no temporary file left


def _wait_for(path: Path, process: subprocess.Popen[bytes], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists():
            return
        assert process.poll() is None, f"the emulator exited with {process.returncode}"
        time.sleep(0.1)
    raise AssertionError(f"{path} was not written within {seconds} s")


def test_the_file_python_m_emulator_writes_loads_both_ways(tmp_path: Path):
    # Run as a caller does, from their own directory with the default relative state dir.
    work = tmp_path / "caller"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "emulator"],
        cwd=work,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        env_file = work / ".emulator" / "emulator.env"
        _wait_for(env_file, process)
        from_dotenv = _load_with_dotenv(env_file)
    finally:
        process.terminate()
        process.wait(timeout=15)
    names = list(from_dotenv)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    from_bash = _load_with_bash(env_file, names, cwd=elsewhere)
    assert from_bash == from_dotenv
    assert from_dotenv["ROLLOVER_SCHEDULE"] == "0 0 3 * * *"
    for name in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
        ca = Path(str(from_dotenv[name]))
        assert ca.is_absolute(), f"{name}={ca} is relative"
        assert ca == (work / ".emulator" / "ca.pem").resolve()
        assert ca.read_text(encoding="utf-8").startswith("-----BEGIN CERTIFICATE-----")
    for name in ("KEY_VAULT_URL", "AZURE_AUTHORITY_HOST", "EMULATOR_CONTROL_URL", "COSMOS_ACCOUNT_IDS"):
        assert from_dotenv[name], name
