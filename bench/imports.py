"""Import cost of `function_app` with telemetry off, against importing the SDKs it uses alone.

Each measurement is a fresh interpreter (imports are cached per process), timed inside it with
``perf_counter`` around the import statement only, so interpreter start-up does not dilute the
ratio. Telemetry off must add (almost) nothing: no OpenTelemetry module may be imported at all.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
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
started = time.perf_counter()
exec({statement!r})
elapsed = time.perf_counter() - started
otel = sorted(m for m in sys.modules if m.split(".")[0] == "opentelemetry" or m.startswith("azure.monitor"))
print(json.dumps({{"ms": elapsed * 1000, "otel": otel}}))
"""


def _measure(statement: str, env: dict[str, str]) -> tuple[float, list[str]]:
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
    return float(result["ms"]), list(result["otel"])


def import_ratio(runs: int, extra_env: dict[str, str] | None = None) -> tuple[float, float, float, list[str]]:
    """(ratio, app ms, SDK ms, OpenTelemetry modules the app import brought).

    Interleaved runs, the fastest of each: on a shared machine the minimum is the import's own
    cost, anything above it is other processes' load.
    """
    env = {k: v for k, v in os.environ.items() if k not in _TELEMETRY_ENV}
    env.update(extra_env or {})
    app: list[float] = []
    sdk: list[float] = []
    otel: set[str] = set()
    _measure(APP_IMPORT, env)  # warm the file cache (.pyc) before timing anything
    for _ in range(runs):
        ms, modules = _measure(APP_IMPORT, env)
        app.append(ms)
        otel |= set(modules)
        sdk.append(_measure(SDK_IMPORTS, env)[0])
    app_ms, sdk_ms = min(app), min(sdk)
    return app_ms / sdk_ms, app_ms, sdk_ms, sorted(otel)
