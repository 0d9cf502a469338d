"""Client generators run on openapi.json as a caller would, from .venv-clients (requirements-clients.txt).

``make test`` builds .venv-clients before pytest runs; a bare ``pytest`` builds it here the same way
(``make venv-clients``), so these tests never skip.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLIENTS_VENV = ROOT / ".venv-clients"
CLIENTS_BIN = CLIENTS_VENV / "bin"
CLIENTS_PYTHON = CLIENTS_BIN / "python"
DOCUMENT = ROOT / "openapi.json"
PACKAGE = "broker_client"  # the name docs/generated-client.md uses


@dataclass(frozen=True)
class Run:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    def __str__(self) -> str:
        return f"$ {' '.join(self.args)}\n-> {self.returncode}\n{self.stdout}\n{self.stderr}"


def ensure_clients_venv() -> None:
    subprocess.run(["make", "-s", "venv-clients"], cwd=ROOT, check=True, timeout=600)


def clients_env() -> dict[str, str]:
    # openapi-python-client formats what it writes with the ruff on PATH: the venv's own.
    return {**os.environ, "PATH": f"{CLIENTS_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def run(args: list[str], *, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300) -> Run:
    done = subprocess.run(
        args, cwd=cwd, env=env or clients_env(), capture_output=True, text=True, timeout=timeout, check=False
    )
    return Run(args, done.returncode, done.stdout, done.stderr)


def generate_python_client(out: Path) -> Run:
    """openapi-python-client, warnings fatal; the package lands in ``out/broker_client``."""
    return run(
        [
            str(CLIENTS_BIN / "openapi-python-client"),
            "generate",
            "--path",
            str(DOCUMENT),
            "--meta",
            "none",
            "--output-path",
            str(out / PACKAGE),
            "--fail-on-warning",
        ],
        cwd=out,
    )


def generate_models(out: Path) -> Run:
    """datamodel-code-generator: pydantic v2 models of every component schema in ``out/models.py``."""
    return run(
        [
            str(CLIENTS_BIN / "datamodel-codegen"),
            "--input",
            str(DOCUMENT),
            "--input-file-type",
            "openapi",
            "--output",
            str(out / "models.py"),
            "--output-model-type",
            "pydantic_v2.BaseModel",
            "--target-python-version",
            "3.13",
            # Explicit: the tool warns that its default formatters will change.
            "--formatters",
            "builtin",
        ],
        cwd=out,
    )


@dataclass(frozen=True)
class Generated:
    path: Path  # the directory holding the generated package (or models.py)
    run: Run


def snake_case(operation_id: str) -> str:
    """How openapi-python-client names an operation's module: getOpenApiDocument -> get_open_api_document."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation_id).lower()
