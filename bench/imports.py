"""Import cost of `function_app` with telemetry off, against importing the SDKs it uses alone.

Each measurement is a fresh interpreter (imports are cached per process), timed inside it around
the import statement only, so interpreter start-up does not dilute the ratio. The ratio is of
wall times (``perf_counter``, as perf_import measures), the fastest of interleaved runs: on a
shared machine anything above the fastest is other processes' load. The CPU-time ratio
(``process_time``) is reported beside it. Telemetry off must add (almost) nothing: no OpenTelemetry
module may be imported at all.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_RATIO = 1.2
# What function_app imports from outside the project, directly or through shared/.
SDK_IMPORTS = (
    "import azure.functions, azure.core, azure.identity, azure.keyvault.keys, azure.keyvault.keys.crypto, "
    "azure.keyvault.certificates, requests, jwt, cryptography.x509"
)
APP_IMPORT = "import function_app"
_TELEMETRY_ENV = ("APPLICATIONINSIGHTS_CONNECTION_STRING", "OTEL_EXPORTER_OTLP_ENDPOINT")
_PROBE = """
import json, sys, time
started, cpu_started = time.perf_counter(), time.process_time()
exec({statement!r})
elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
otel = sorted(m for m in sys.modules if m.split(".")[0] == "opentelemetry" or m.startswith("azure.monitor"))
print(json.dumps({{"ms": elapsed * 1000, "cpu_ms": cpu * 1000, "otel": otel}}))
"""


def _measure(statement: str, env: dict[str, str]) -> tuple[float, float, list[str]]:
    completed = subprocess.run(
        [sys.executable, "-c", _PROBE.format(statement=statement)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    return float(result["ms"]), float(result["cpu_ms"]), list(result["otel"])


@dataclass(frozen=True)
class ImportCost:
    ratio: float  # wall time, fastest app import / fastest SDK import
    app_ms: float
    sdk_ms: float
    cpu_ratio: float
    otel: list[str]  # OpenTelemetry (and azure.monitor) modules the app import brought


def import_ratio(runs: int, extra_env: dict[str, str] | None = None) -> ImportCost:
    """`import function_app` against the SDK imports alone, ``runs`` interleaved fresh interpreters each."""
    # PYTHONDONTWRITEBYTECODE would make every run compile the project from source while the SDKs
    # load from the .pyc files pip wrote: both sides load bytecode, as a deployed app does.
    env = {k: v for k, v in os.environ.items() if k not in (*_TELEMETRY_ENV, "PYTHONDONTWRITEBYTECODE")}
    env.update(extra_env or {})
    app: list[tuple[float, float]] = []
    sdk: list[tuple[float, float]] = []
    otel: set[str] = set()
    _measure(APP_IMPORT, env)  # warm the file cache (.pyc) before timing anything
    for _ in range(runs):
        ms, cpu_ms, modules = _measure(APP_IMPORT, env)
        app.append((ms, cpu_ms))
        otel |= set(modules)
        sdk.append(_measure(SDK_IMPORTS, env)[:2])
    app_ms, sdk_ms = min(a[0] for a in app), min(s[0] for s in sdk)
    cpu_ratio = min(a[1] for a in app) / min(s[1] for s in sdk)
    return ImportCost(app_ms / sdk_ms, app_ms, sdk_ms, cpu_ratio, sorted(otel))
