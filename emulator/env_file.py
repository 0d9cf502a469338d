# The emulator's settings as a dotenv file a caller can load either way (docs/caller.md, "Calling
# it locally"): `set -a; . .emulator/emulator.env; set +a` in bash/sh, or python-dotenv's
# `load_dotenv`. Unquoted, `ROLLOVER_SCHEDULE=0 0 3 * * *` makes the shell run a command named `0`
# with the file names `*` expands to. Every value is single-quoted instead: POSIX sh takes
# everything between single quotes literally (no `$`, backtick, glob or word splitting), and
# python-dotenv's single-quoted form decodes no escapes but `\\` and `\'` (its parser's
# `_single_quoted_value`). python-dotenv still expands `${NAME}` in every value (its default
# `interpolate=True`). So a value round-trips exactly unless it holds a single quote, a backslash,
# a line break or `${`, which the two readers take differently: such a value is refused rather than
# written in a form one of them misreads.
from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class UnquotableValue(ValueError):
    """A value that no single dotenv spelling gives back unchanged to both sh and python-dotenv."""


def format_dotenv(env: Mapping[str, str]) -> str:
    lines = []
    for name, value in env.items():
        if not _NAME.fullmatch(name):
            raise UnquotableValue(f"{name!r} is not a shell variable name")
        if any(part in value for part in ("'", "\\", "\n", "\r", "${")):
            raise UnquotableValue(f"{name}: a quote, backslash, line break or '${{' reads differently in sh and dotenv")
        lines.append(f"{name}='{value}'\n")
    return "".join(lines)


def write_dotenv(path: Path, env: Mapping[str, str]) -> None:
    """Writes the file whole or not at all (a reader polling for it never sees half of it)."""
    text = format_dotenv(env)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", text=True)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
