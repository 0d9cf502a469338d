"""The local host as a subprocess (``python -m emulator.host``) serving a given function app directory.

A subprocess because azure-functions-runtime holds one function app per process, and the test
session's process already runs function_app.py (tests/e2e).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_APP = Path(__file__).resolve().parent / "sample_app"
FUNCTION_KEY = "test-function-key"
MASTER_KEY = "test-master-key"
_LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:\d+)/")


@dataclass
class HostProcess:
    process: subprocess.Popen[str]
    base_url: str = ""
    output: list[str] = field(default_factory=list)

    def text(self) -> str:
        return "".join(self.output)


def start_host(
    app_dir: Path,
    out_dir: Path,
    *extra: str,
    schedule: str = "0 0 0 1 1 *",
    master_key: str = MASTER_KEY,
    settings: dict[str, str] | None = None,
) -> HostProcess:
    env = {**os.environ, "SAMPLE_OUT_DIR": str(out_dir), "SAMPLE_SCHEDULE": schedule, "PYTHONUNBUFFERED": "1"}
    env.update(settings or {})
    process = subprocess.Popen(
        [sys.executable, "-m", "emulator.host", "--app-dir", str(app_dir), "--port", "0",
         f"--function-key={FUNCTION_KEY}", f"--master-key={master_key}", *extra],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    host = HostProcess(process)
    ready = threading.Event()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            host.output.append(line)
            match = _LISTENING.search(line)
            if match and not host.base_url:
                host.base_url = match[1]
                ready.set()
        ready.set()

    threading.Thread(target=pump, daemon=True).start()
    ready.wait(timeout=60)
    return host


def stop_host(host: HostProcess) -> None:
    if host.process.poll() is None:
        host.process.terminate()
        try:
            host.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            host.process.kill()
