# `python -m bench`: run the suite, print the Markdown table, write bench/results.md (git-ignored).
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.suite import run

RESULTS = Path(__file__).resolve().parent / "results.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description="Broker benchmarks against the emulator.")
    parser.add_argument("--quick", action="store_true", help="tiny N: checks the suite runs, figures are noise")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"Markdown file (default {RESULTS})")
    parser.add_argument(
        "--profile",
        type=int,
        metavar="N",
        help="instead of the suite: cProfile N warm calls of the Cosmos route (key cache off), top functions",
    )
    args = parser.parse_args(argv)
    if args.profile:
        from bench.overhead import profile_route

        print(profile_route(args.profile))
        return 0
    report = run(quick=args.quick, progress=sys.stderr)
    markdown = report.markdown()
    print(markdown)
    args.output.write_text(markdown, encoding="utf-8")
    print(f"written to {args.output}", file=sys.stderr)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
