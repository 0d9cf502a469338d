"""The documentation stays a map and its pages stay true.

- README.md is a map (at most 300 lines); the depth lives in docs/ pages by reader.
- Every relative link in README.md, docs/*.md and infra/README.md reaches a file, and its
  `#anchor` a heading of that file (GitHub's anchor rules), so moving a section breaks a test, not a reader.
- Every setting the code reads by name (the constants of shared/settings.py and
  shared/telemetry/setup.py) is documented in README.md or docs/.
- docs/caller.md "Calling it locally" runs as written: emulator, local host, a caller token from
  the emulator's Entra, a route called with curl and with Python.
"""

from __future__ import annotations

import ast
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
README_MAX_LINES = 300
SETTING_SOURCES = (ROOT / "shared" / "settings.py", ROOT / "shared" / "telemetry" / "setup.py")

_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_INLINE_CODE = re.compile(r"`[^`]*`")
_LINK = re.compile(r"(?<!!)\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_IMAGE = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)>?\s*\)")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def _pages() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md")), ROOT / "infra" / "README.md"]


def _prose_lines(text: str) -> list[str]:
    """Lines outside fenced code blocks (a `# comment` in a bash block is not a heading)."""
    lines, fenced = [], False
    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(line)
    return lines


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: its text lower-cased, markup and punctuation dropped, spaces → '-'."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = text.replace("`", "").replace("*", "")
    text = re.sub(r"<[^>]+>", "", text)
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


@cache
def anchors(path: Path) -> frozenset[str]:
    seen: dict[str, int] = {}
    found = set()
    for line in _prose_lines(path.read_text(encoding="utf-8")):
        match = _HEADING.match(line)
        if not match:
            continue
        base = github_anchor(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return frozenset(found)


def links(path: Path) -> list[str]:
    targets = []
    for line in _prose_lines(path.read_text(encoding="utf-8")):
        line = _INLINE_CODE.sub("", line)
        targets += _LINK.findall(line) + _IMAGE.findall(line)
    return targets


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name


def broken_links(path: Path) -> list[str]:
    broken = []
    for target in links(path):
        if _SCHEME.match(target) or target.startswith("//"):
            continue  # absolute URLs: not checked offline
        file_part, _, anchor = target.partition("#")
        destination = (path.parent / file_part).resolve() if file_part else path
        if not destination.exists():
            broken.append(f"{target}: no file {_shown(destination)}")
            continue
        if anchor and destination.suffix == ".md" and anchor not in anchors(destination):
            broken.append(f"{target}: no heading with anchor #{anchor} in {_shown(destination)}")
    return broken


def test_readme_is_a_map_of_at_most_300_lines():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, (
        f"README.md has {len(lines)} lines (at most {README_MAX_LINES}): move the depth into a docs/ page"
    )


def test_readme_links_every_docs_page():
    linked = {(README.parent / target.partition("#")[0]).resolve() for target in links(README)}
    unlinked = [page.name for page in sorted(DOCS.glob("*.md")) if page.resolve() not in linked]
    assert not unlinked, f"docs pages the README map does not list: {unlinked}"


@pytest.mark.parametrize("page", _pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_reach_a_file_and_a_heading(page: Path):
    assert not broken_links(page), "\n".join(broken_links(page))


_REPO_PATH = re.compile(r"`((?:shared|emulator|tests|scripts|bench|infra|docs)/[\w./-]+)`")
GENERATED = {"bench/results.md"}  # written by `make bench`, git-ignored


@pytest.mark.parametrize("page", _pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_named_repository_paths_exist(page: Path):
    """A module moved or renamed (shared/origins.py → shared/upstream/origins.py) must not leave the docs behind."""
    named = set(_REPO_PATH.findall(page.read_text(encoding="utf-8"))) - GENERATED
    missing = sorted(path for path in named if not (ROOT / path.rstrip("/")).exists())
    assert not missing, f"{page.relative_to(ROOT)} names paths that do not exist: {missing}"


def test_the_link_checker_sees_what_it_must(tmp_path: Path):
    page = tmp_path / "page.md"
    other = "# Other\n## What `VNET_ENABLED=true` adds\n## Same\n## Same\n"
    (tmp_path / "other.md").write_text(other, encoding="utf-8")
    page.write_text(
        "# Title\n```bash\n# not a heading\n```\n"
        "[ok](other.md#what-vnet_enabledtrue-adds) [dup](other.md#same-1) [self](#title) [web](https://x.test/#y)\n"
        "[gone](missing.md) [bad](other.md#nope) [code](#not-a-heading) `[quoted](missing-too.md)`\n",
        encoding="utf-8",
    )
    broken = broken_links(page)
    assert [entry.split(":")[0] for entry in broken] == ["missing.md", "other.md#nope", "#not-a-heading"]


def test_github_anchor_rules():
    assert github_anchor("Alerts (`infra/app/alerts.bicep`)") == "alerts-infraappalertsbicep"
    assert github_anchor("Credential modes (`CREDENTIAL_MODE`)") == "credential-modes-credential_mode"
    assert github_anchor("The contract (OpenAPI 3.1)") == "the-contract-openapi-31"
    assert github_anchor("Key Vault\N{EN DASH}signed assertion broker") == "key-vaultsigned-assertion-broker"


def setting_names() -> list[str]:
    """Module-level `NAME = "NAME"` constants: the environment variables the code reads by name."""
    names = []
    for source in SETTING_SOURCES:
        for node in ast.parse(source.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                value = node.value
                if (
                    len(targets) == 1
                    and isinstance(targets[0], ast.Name)
                    and isinstance(value, ast.Constant)
                    and value.value == targets[0].id
                    and re.fullmatch(r"[A-Z][A-Z0-9_]+", targets[0].id)
                ):
                    names.append(targets[0].id)
    return names


def test_every_setting_is_documented():
    names = setting_names()
    assert "CALLER_AUDIENCE" in names and "ROLLOVER_SCHEDULE" in names, names  # the reader finds them
    text = "\n".join(page.read_text(encoding="utf-8") for page in [README, *DOCS.glob("*.md")])
    missing = [name for name in names if not re.search(rf"(?<![A-Z0-9_]){name}(?![A-Z0-9_])", text)]
    assert not missing, f"settings documented nowhere in README.md or docs/: {missing}"


# ------------------------------------------------------------------ "Calling it locally", run as written
_MARKER = "<!-- tested: tests/test_docs.py"


def _calling_locally_blocks() -> tuple[str, str, str]:
    """The bash block after the marker, the Python block after it, and the bash block after that."""
    text = (DOCS / "caller.md").read_text(encoding="utf-8")
    assert _MARKER in text, "docs/caller.md lost the marked 'Calling it locally' snippet"
    blocks = re.findall(r"^```(bash|python)\n(.*?)^```", text[text.index(_MARKER) :], flags=re.M | re.S)
    kinds = [kind for kind, _ in blocks[:3]]
    assert kinds == ["bash", "python", "bash"], kinds
    return blocks[0][1], blocks[1][1], blocks[2][1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _as_tested(block: str, port: int) -> str:
    """The documented commands with this test's interpreter, app directory and port."""
    lines = [line for line in block.splitlines() if not line.startswith("make venv")]  # this venv already
    text = "\n".join(lines)
    text = text.replace(".venv/bin/python", shlex.quote(sys.executable))
    text = text.replace("--app-dir .", f"--app-dir {shlex.quote(str(ROOT))}")
    return text.replace("7071", str(port))


def test_calling_it_locally_runs_as_documented(tmp_path: Path):
    start, python_snippet, stop = _calling_locally_blocks()
    assert "caller-token" in start and "Authorization: Bearer" in start and "load_dotenv" in python_snippet
    port = _free_port()
    (tmp_path / "snippet.py").write_text(_as_tested(python_snippet, port), encoding="utf-8")
    script = "\n".join(
        [
            "set -eu",
            "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT",  # also when a step fails
            _as_tested(start, port),
            "echo",
            f"{shlex.quote(sys.executable)} snippet.py",
            _as_tested(stop, port),
        ]
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("CALLER_AUDIENCE", None)
    process = subprocess.Popen(
        ["bash", "-c", script],
        cwd=tmp_path,  # the emulator's and host's .emulator/ land here, not in the checkout
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    log = tmp_path / ".emulator" / "host.log"
    detail = f"{out}\n{err}\n{log.read_text(encoding='utf-8') if log.exists() else ''}"
    assert process.returncode == 0, detail
    lines = out.strip().splitlines()
    assert '"account":"cosmos-orders"' in lines[0] and '"primaryReadonlyMasterKey"' in lines[0], detail
    assert lines[-1] == "200 3", detail
