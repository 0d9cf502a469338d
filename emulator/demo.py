"""`make demo`: the emulator and the function as separate processes, then a walk through the routes.

Starts ``python -m emulator`` (its own process, as Azure's services are not in the function's
process), then the function: Core Tools ``func start`` when ``func`` is on PATH, else the
minimal host (``python -m emulator.host``, on azure-functions-runtime). Calls every route over
HTTP with a function key, prints each answer with secrets masked and the emulator operations it
caused, then ``/api/keys`` for a storage account, a Search service and an Azure OpenAI account with
local authentication off, next to Cosmos (``demo_keys``), then the emulator's counters, then a
certificate renewal registered and the old key retired by ``POST /api/rollover``
(``demo_rollover``). Stops everything it started, also on Ctrl-C and errors.

With ``func``: Core Tools does not enforce function keys when running locally (unless
``func start --enableAuth``), so there is no key to fetch; the demo sends one anyway, so the
same calls work against a deployed app. HTTP triggers need no ``AzureWebJobsStorage``;
``FUNCTIONS_WORKER_RUNTIME=python`` replaces ``local.settings.json``, and the venv's ``bin``
goes first on ``PATH`` so the worker finds the installed dependencies.

Exit status: 0 when every call answered its expected status, 1 when one did not, 2 when the
emulator or the function did not start.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

import requests
from dotenv import dotenv_values

from emulator.core import telemetry_env
from emulator.demo_keys import Fetch, walk_through_resource_keys
from emulator.demo_rollover import walk_through_rollover
from emulator.waterfall import find_trace, render

ROOT = Path(__file__).resolve().parents[1]
ENV_READY_KEY = "EMULATOR_CONTROL_URL"  # the last line `python -m emulator` writes
TRACE_WAIT_SECONDS = 10.0  # the function exports spans every 200 ms (telemetry_env)
EMULATOR_START_SECONDS = 20.0
MINIMAL_HOST_START_SECONDS = 20.0
FUNC_START_SECONDS = 90.0  # first `func start` downloads the extension bundle
STOP_SECONDS = 5.0
CALL_TIMEOUT_SECONDS = 30.0

# Field names whose string values are secrets wherever they appear in a body.
_SECRET_NAME = re.compile(r"(key|token|secret|password|assertion|signature|connectionstring)$", re.IGNORECASE)
_JWT = re.compile(r"^eyJ[\w-]+\.[\w-]+\.[\w-]*$")
# Operations that show whether a request paid for the credential chain.
CHAIN_OPERATIONS = ("identity.token", "keyvault.get_certificate", "keyvault.sign", "entra.token")


class StartupError(RuntimeError):
    """The emulator or the function did not come up; the message says where to look."""


@dataclass(frozen=True)
class Call:
    title: str
    path: str
    expected: int
    key: bool = True


USERS_PATH = "/api/graph/users?limit=5&select=id,displayName,userPrincipalName"
CALLS = (
    Call("health: anonymous, no outbound call", "/api/health", 200, key=False),
    Call("readonly keys: cold, the whole chain", "/api/cosmos/cosmos-orders/keys", 200),
    Call("readwrite keys: hot, cached ARM token", "/api/cosmos/cosmos-orders/keys?type=readwrite", 200),
    Call("Graph users: a second scope, the signed assertion reused (one Entra call, no Key Vault)", USERS_PATH, 200),
    Call("diagnostics: non-secret facts of the chain", "/api/diagnostics", 200),
    Call("unknown account: 404 problem", "/api/cosmos/cosmos-unknown/keys", 404),
    Call("bad type: 400 problem", "/api/cosmos/cosmos-orders/keys?type=owner", 400),
    Call("readwrite on a Reader-only account: 502 problem", "/api/cosmos/cosmos-catalog/keys?type=readwrite", 502),
)


@dataclass
class Result:
    call: Call
    status: int | None
    elapsed_ms: float
    body: Any
    operations: dict[str, int]
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == self.call.expected


# ---------------------------------------------------------------------------- masking
def mask(value: str) -> str:
    """First 4 characters, an ellipsis and the length: enough to compare, never to use."""
    return f"{value[:4]}…({len(value)} chars)"


def masked(body: Any, name: str = "") -> Any:
    """``body`` with every secret-looking string masked (by field name, or JWT shape)."""
    if isinstance(body, Mapping):
        return {k: masked(v, str(k)) for k, v in body.items()}
    if isinstance(body, list):
        return [masked(item, name) for item in body]
    if isinstance(body, str) and (_SECRET_NAME.search(name) or _JWT.match(body)):
        return mask(body)
    return body


# ---------------------------------------------------------------------------- processes
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def spawn(args: list[str], *, env: Mapping[str, str], log: Path, stdout_to_log: bool = True) -> subprocess.Popen[bytes]:
    # Own session: Ctrl-C reaches only the demo, which then stops each child's whole group
    # (func runs its Python worker as a grandchild).
    with log.open("wb") as handle:
        return subprocess.Popen(  # noqa: S603 - our own interpreter and modules, or `func`
            args,
            cwd=ROOT,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=handle if stdout_to_log else subprocess.DEVNULL,
            stderr=handle,
            start_new_session=os.name == "posix",
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the child's process group, wait, then SIGKILL it."""
    if process.poll() is not None:
        return
    _signal_group(process, signal.SIGTERM)
    try:
        process.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        _signal_group(process, signal.SIGKILL)
        process.wait(STOP_SECONDS)


def _signal_group(process: subprocess.Popen[bytes], signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        if os.name == "posix":
            os.killpg(process.pid, signum)
        elif signum == signal.SIGKILL:
            process.kill()
        else:
            process.terminate()


@contextlib.contextmanager
def running(
    args: list[str], *, env: Mapping[str, str], log: Path, stdout_to_log: bool = True
) -> Iterator[subprocess.Popen[bytes]]:
    process = spawn(args, env=env, log=log, stdout_to_log=stdout_to_log)
    try:
        yield process
    finally:
        stop(process)


def _tail(log: Path, lines: int = 15) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def read_env_file(path: Path, process: subprocess.Popen[bytes], log: Path) -> dict[str, str]:
    """Wait until the emulator has written its whole dotenv file, then parse it."""
    deadline = time.monotonic() + EMULATOR_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StartupError(f"the emulator exited with {process.returncode}:\n{_tail(log)}")
        with contextlib.suppress(OSError):
            text = path.read_text(encoding="utf-8")
            # Written atomically (emulator/env_file.py); the last key confirms it is this run's file.
            if f"\n{ENV_READY_KEY}=" in text:
                return {name: value or "" for name, value in dotenv_values(stream=io.StringIO(text)).items()}
        time.sleep(0.1)
    raise StartupError(f"the emulator wrote no {path} within {EMULATOR_START_SECONDS:.0f} s:\n{_tail(log)}")


def wait_healthy(base_url: str, process: subprocess.Popen[bytes], log: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StartupError(f"the function host exited with {process.returncode}:\n{_tail(log)}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{base_url}/api/health", timeout=2).status_code in (200, 503):
                return
        time.sleep(0.2)
    raise StartupError(f"{base_url}/api/health did not answer within {seconds:.0f} s:\n{_tail(log)}")


@dataclass(frozen=True)
class HostPlan:
    name: str
    args: list[str]
    env: dict[str, str]
    start_seconds: float


def plan_host(choice: str, port: int, function_key: str, emulator_env: Mapping[str, str]) -> HostPlan:
    env = {**os.environ, **emulator_env}
    func = shutil.which("func") if choice in ("auto", "func") else None
    if choice == "func" and func is None:
        raise StartupError("--host func: `func` (Azure Functions Core Tools) is not on PATH")
    if func is not None:
        venv_bin = str(Path(sys.executable).parent)
        env.update(FUNCTIONS_WORKER_RUNTIME="python", PATH=os.pathsep.join([venv_bin, env.get("PATH", "")]))
        env.setdefault("VIRTUAL_ENV", sys.prefix)
        return HostPlan("Core Tools `func start`", [func, "start", "--port", str(port)], env, FUNC_START_SECONDS)
    # "--function-key=KEY": a urlsafe random key may start with "-", which argparse would take for an option.
    args = [sys.executable, "-m", "emulator.host", "--port", str(port), f"--function-key={function_key}"]
    name = "minimal host (emulator.host on azure-functions-runtime; `func` not on PATH)"
    return HostPlan(name, args, env, MINIMAL_HOST_START_SECONDS)


# ---------------------------------------------------------------------------- calls
class Emulated:
    """The emulator's control API, TLS-verified against its own CA."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.url = env["EMULATOR_CONTROL_URL"]
        self.ca = env["REQUESTS_CA_BUNDLE"]

    def counters(self) -> dict[str, int]:
        response = requests.get(f"{self.url}/_emulator/counters", verify=self.ca, timeout=CALL_TIMEOUT_SECONDS)
        response.raise_for_status()
        return {str(k): int(v) for k, v in response.json().items()}

    def otlp(self, signal: str) -> list[dict[str, Any]]:
        """What the emulator's OTLP receiver got from the function (spans, metric points, log records)."""
        response = requests.get(f"{self.url}/_emulator/otlp/{signal}", verify=self.ca, timeout=CALL_TIMEOUT_SECONDS)
        response.raise_for_status()
        return list(response.json())


def delta(before: Mapping[str, int], after: Mapping[str, int]) -> dict[str, int]:
    return {name: after[name] - before.get(name, 0) for name in after if after[name] != before.get(name, 0)}


def call(session: requests.Session, base_url: str, function_key: str, emulated: Emulated, spec: Call) -> Result:
    headers = {"x-functions-key": function_key} if spec.key else {}
    before = emulated.counters()
    started = time.perf_counter()
    try:
        response = session.get(base_url + spec.path, headers=headers, timeout=CALL_TIMEOUT_SECONDS)
    except requests.RequestException as exc:
        return Result(spec, None, (time.perf_counter() - started) * 1000, f"request failed: {exc}", {})
    elapsed_ms = (time.perf_counter() - started) * 1000
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    operations = delta(before, emulated.counters())
    return Result(spec, response.status_code, elapsed_ms, body, operations, dict(response.headers))


def fetcher(session: requests.Session, base_url: str, function_key: str, emulated: Emulated) -> Fetch:
    """`call` for the resource-keys walk (emulator/demo_keys.py), which judges the answers itself."""

    def fetch(path: str) -> tuple[int | None, float, Any, dict[str, int], Mapping[str, str]]:
        result = call(session, base_url, function_key, emulated, Call(path, path, 0))
        return result.status, result.elapsed_ms, result.body, result.operations, result.headers

    return fetch


def print_result(result: Result, out: TextIO) -> None:
    status = "no answer" if result.status is None else str(result.status)
    verdict = "ok" if result.ok else f"UNEXPECTED (wanted {result.call.expected})"
    out.write(f"\n── GET {result.call.path}  →  {status}  {result.elapsed_ms:.0f} ms  [{verdict}]\n")
    out.write(f"   {result.call.title}\n")
    operations = ", ".join(f"{name} +{n}" for name, n in sorted(result.operations.items())) or "none"
    out.write(f"   emulator operations: {operations}\n")
    body = masked(result.body)
    text = json.dumps(body, indent=2, ensure_ascii=False) if not isinstance(body, str) else body
    out.write("".join(f"   {line}\n" for line in text.splitlines()))


def print_counters(counters: Mapping[str, int], out: TextIO) -> None:
    out.write("\n== Emulator counters (GET /_emulator/counters; operations never called left out)\n")
    called = {name: count for name, count in counters.items() if count}
    width = max((len(name) for name in called), default=0)
    for name, count in sorted(called.items()):
        out.write(f"   {name:<{width}}  {count}\n")
    out.write(f"   ({len(counters) - len(called)} operations at 0)\n")


def cold_trace(emulated: Emulated, seconds: float = TRACE_WAIT_SECONDS) -> list[dict[str, Any]] | None:
    """The cold request's trace (the first cosmos-keys request that fetched a token), once exported."""
    deadline = time.monotonic() + seconds
    while True:
        trace = find_trace(emulated.otlp("traces"), route="cosmos-keys", containing="broker token")
        # Complete once the request span (the last to end) has arrived.
        if (trace and any(s["attributes"].get("broker.route") for s in trace)) or time.monotonic() > deadline:
            return trace
        time.sleep(0.2)


def print_waterfall(trace: list[dict[str, Any]] | None, out: TextIO) -> bool:
    out.write("\n== Trace of the cold request (received by the emulator over OTLP/HTTP)\n")
    if not trace:
        out.write("   no trace arrived: is OTEL_EXPORTER_OTLP_ENDPOINT reaching the emulator? (see the function log)\n")
        return False
    out.write(f"   trace {trace[0]['traceId']}, {len(trace)} spans\n")
    for line in render(trace):
        out.write(line + "\n")
    return True


def hot_path_check(results: list[Result], out: TextIO) -> bool:
    """The readwrite call reuses the ARM token the readonly call paid for: no chain operation."""
    hot = next(r for r in results if r.call.path.endswith("type=readwrite") and "orders" in r.call.path)
    paid = {name: hot.operations.get(name, 0) for name in CHAIN_OPERATIONS}
    clean = not any(paid.values())
    verdict = "no Key Vault/Entra/MI call" if clean else "UNEXPECTED chain calls"
    counts = ", ".join(f"{name} +{n}" for name, n in paid.items())
    out.write(f"\n== Hot path (second ARM request): {verdict}: {counts}\n")
    return clean


# ---------------------------------------------------------------------------- main
def _raise_keyboard_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # SIGTERM takes the same cleanup path as Ctrl-C


def run_demo(state_dir: Path, host_choice: str, out: TextIO) -> int:
    started = time.monotonic()
    state_dir.mkdir(parents=True, exist_ok=True)
    env_file = state_dir / "emulator.env"
    env_file.unlink(missing_ok=True)  # never read a previous run's ports
    emulator_log, function_log = state_dir / "emulator.log", state_dir / "function.log"
    emulator_args = [sys.executable, "-m", "emulator", "--state-dir", str(state_dir), "--env-file", str(env_file)]

    out.write(f"== Starting the emulator (log: {emulator_log})\n")
    with running(emulator_args, env=os.environ, log=emulator_log) as emulator:
        emulator_env = read_env_file(env_file, emulator, emulator_log)
        out.write(f"   control API {emulator_env['EMULATOR_CONTROL_URL']}, CA {emulator_env['REQUESTS_CA_BUNDLE']}\n")
        function_key = secrets.token_urlsafe(32)
        port = free_port()
        # Telemetry on, exported over OTLP/HTTP to the emulator's receiver (the real exporter path).
        function_env = {
            **emulator_env,
            **telemetry_env(emulator_env["EMULATOR_OTLP_ENDPOINT"], emulator_env["REQUESTS_CA_BUNDLE"]),
        }
        plan = plan_host(host_choice, port, function_key, function_env)
        base_url = f"http://127.0.0.1:{port}"
        out.write(f"== Starting the function: {plan.name} on {base_url} (log: {function_log})\n")
        # The minimal host prints its function key on stdout: that stream is not kept.
        with running(plan.args, env=plan.env, log=function_log, stdout_to_log=plan.name.startswith("Core")) as host:
            wait_healthy(base_url, host, function_log, plan.start_seconds)
            out.write(f"   function key {mask(function_key)} (sent as x-functions-key)\n")
            emulated = Emulated(emulator_env)
            with requests.Session() as session:
                results = [call(session, base_url, function_key, emulated, spec) for spec in CALLS]
                for result in results:
                    print_result(result, out)
                keys_good, keys_total = walk_through_resource_keys(
                    fetcher(session, base_url, function_key, emulated), out
                )
            print_counters(emulated.counters(), out)
            hot_ok = hot_path_check(results, out)
            trace_ok = print_waterfall(cold_trace(emulated), out)
            with requests.Session() as session:
                rollover_ok = walk_through_rollover(session, base_url, function_key, emulated.url, emulated.ca, out)
    failed = [r for r in results if not r.ok]
    total, good = len(results) + keys_total, len(results) - len(failed) + keys_good
    out.write(f"\n== {good}/{total} calls as expected")
    out.write(f"; stopped everything; {time.monotonic() - started:.1f} s\n")
    return 0 if good == total and hot_ok and trace_ok and rollover_ok else 1


def main(argv: list[str] | None = None, out: TextIO | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulator.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--state-dir", default=".emulator", help="emulator CA, env file and logs (default .emulator)")
    parser.add_argument("--host", choices=("auto", "func", "minimal"), default="auto", help="default: func if on PATH")
    args = parser.parse_args(argv)
    out = out or sys.stdout
    previous = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        code = run_demo(Path(args.state_dir).resolve(), args.host, out)
    except StartupError as exc:
        out.write(f"\n!! {exc}\n")
        code = 2
    except KeyboardInterrupt:
        out.write("\n!! interrupted; stopped everything the demo started\n")
        code = 130
    finally:
        signal.signal(signal.SIGTERM, previous)
    out.flush()
    return code


if __name__ == "__main__":
    sys.exit(main())
