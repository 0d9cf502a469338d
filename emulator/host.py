"""``python -m emulator.host``: the local Functions host, used when Core Tools (``func``) is absent.

It serves the function app in the current directory (``function_app.py``, ``host.json``) on
Microsoft's Python worker runtime (``azure-functions-runtime``) — see ``emulator.functions_host`` —
with function keys, the Event Grid webhook, the admin API and timers firing on their schedules.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import secrets
import threading
from pathlib import Path

from emulator.functions_host import FunctionHost, WorkerError, route_prefix, serve

__all__ = ["FunctionHost", "main", "route_prefix", "serve"]


def _write_secret(path: Path, value: str) -> None:
    path.parent.mkdir(exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(value, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Local Functions host on azure-functions-runtime (without `func`)")
    parser.add_argument("--app-dir", default=".", help="function app directory (function_app.py, host.json)")
    parser.add_argument("--port", type=int, default=7071)
    parser.add_argument("--function-key", default=None, help="default: a random key, written to .emulator/function-key")
    parser.add_argument("--master-key", default=None, help="default: a random key, written to .emulator/master-key")
    parser.add_argument("--no-timers", action="store_true", help="do not fire timer triggers on their schedules")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app_dir = Path(args.app_dir).resolve()
    function_key = args.function_key or secrets.token_urlsafe(32)
    master_key = args.master_key or secrets.token_urlsafe(32)
    prefix = route_prefix(app_dir / "host.json")
    try:
        with serve(
            app_dir,
            function_keys=[function_key],
            master_key=master_key,
            port=args.port,
            run_timers=not args.no_timers,
        ) as url:
            # Keys are not printed (stdout ends up in logs): random ones go to 0600 files.
            where = []
            for flag, value, name in (
                (args.function_key, function_key, "function-key"),
                (args.master_key, master_key, "master-key"),
            ):
                if flag:
                    where.append(f"{name} as given")
                else:
                    _write_secret(Path(".emulator") / name, value)
                    where.append(f"{name} in .emulator/{name}")
            print(f"Functions (local host, azure-functions-runtime) listening on {url}/{prefix}; {', '.join(where)}",
                  flush=True)  # fmt: skip
            with contextlib.suppress(KeyboardInterrupt):
                threading.Event().wait()
    except WorkerError as error:
        # The runtime's own words: an indexing error fails here as it would fail the app in Azure.
        print(f"The function app failed to start: {error.runtime_message}\n{error.stack_trace}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
