# `python -m emulator`: start every surface, print the environment, write it as a dotenv
# file that both `set -a; . FILE` and python-dotenv load (emulator/env_file.py), serve until
# SIGINT/SIGTERM (docs/emulator.md, "Processes and ports").
from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from emulator.core import MODES, Emulator
from emulator.env_file import format_dotenv, write_dotenv


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulator", description=__doc__)
    parser.add_argument("--state-dir", default=".emulator", help="where ca.pem is written (default .emulator)")
    parser.add_argument("--env-file", help="dotenv file to write (default <state-dir>/emulator.env)")
    parser.add_argument("--mode", choices=MODES, default="keyvault", help="credential mode of the printed env")
    args = parser.parse_args(argv)

    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)

    emulator = Emulator(state_dir=args.state_dir).start()
    try:
        env = emulator.env_for(args.mode)
        env_file = Path(args.env_file or Path(args.state_dir) / "emulator.env")
        write_dotenv(env_file, env)
        sys.stdout.write(format_dotenv(env))
        sys.stdout.write(f"# written to {env_file}; serving until SIGINT/SIGTERM\n")
        sys.stdout.flush()
        while not stop.wait(0.5):
            pass
    finally:
        emulator.stop()
    sys.stdout.write("# emulator stopped\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
