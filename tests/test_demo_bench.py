"""Smoke tests of `make demo` and `make bench`: they run, say what they should, leak no secret."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from emulator.demo import mask, masked

ROOT = Path(__file__).resolve().parents[1]
# A Cosmos or Storage key is 88 base64 characters ending in "=="; a Service Bus / Redis / App
# Configuration key 44 ending in "="; a Search key 52 letters and digits; a JWT starts with eyJ.
# None may be printed.
_SECRET_LIKE = re.compile(r"[A-Za-z0-9+/]{86}==|[A-Za-z0-9+/]{43}=|\b[A-Za-z0-9]{52}\b|eyJ[\w-]{10,}\.[\w-]{10,}")


def test_mask_keeps_four_characters_and_the_length():
    assert mask("abcdefgh") == "abcd…(8 chars)"
    body = {"account": "a", "primaryMasterKey": "k" * 88, "token": {"appid": "x"}, "note": "eyJa.eyJb.c"}
    assert masked(body) == {
        "account": "a",
        "primaryMasterKey": "kkkk…(88 chars)",
        "token": {"appid": "x"},
        "note": "eyJa…(11 chars)",
    }


def test_demo_runs_end_to_end(tmp_path: Path):
    # --host minimal: the smoke test must not depend on Core Tools (or its bundle download).
    completed = subprocess.run(
        [sys.executable, "-m", "emulator.demo", "--state-dir", str(tmp_path / "emulator"), "--host", "minimal"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    out = completed.stdout
    assert completed.returncode == 0, out + completed.stderr
    for section in (
        "== Starting the emulator",
        "== Starting the function: minimal host",
        "── GET /api/health  →  200",
        "── GET /api/cosmos/cosmos-orders/keys  →  200",
        "── GET /api/cosmos/cosmos-orders/keys?type=readwrite  →  200",
        "── GET /api/graph/users?limit=5&select=id,displayName,userPrincipalName  →  200",
        "── GET /api/diagnostics  →  200",
        "── GET /api/cosmos/cosmos-unknown/keys  →  404",
        "── GET /api/cosmos/cosmos-orders/keys?type=owner  →  400",
        "── GET /api/cosmos/cosmos-catalog/keys?type=readwrite  →  502",
        '"code": "AuthorizationFailed"',
        "== Emulator counters",
        "== Hot path (second ARM request): no Key Vault/Entra/MI call",
        "== Trace of the cold request (received by the emulator over OTLP/HTTP)",
        "== Resource keys: GET /api/keys/{kind}/{name}",
        "── GET /api/keys/storage/stgorders?type=readwrite  →  200",
        "── GET /api/keys/storage/stgorders?type=readonly  →  400",
        "── GET /api/keys/search/srch-catalog?type=readonly  →  200",
        "   ARM: arm.search.listQueryKeys +1",
        "── GET /api/keys/search/srch-catalog?type=readwrite  →  200",
        "   ARM: arm.search.listAdminKeys +1",
        "── GET /api/keys/cognitiveservices/oai-entra-only?type=readwrite  →  409",
        "Cognitive Services OpenAI User",
        "── GET /api/keys/cosmos/cosmos-catalog?type=readonly  →  200",
        "   keys[0].value: ",
        "== 14/14 calls as expected",
        "== Certificate rollover",
        "── POST /api/rollover?dryRun=true  →  200",
        "   would add ",
        "   registered ",
        "   token with the new version: obtained",
        "   retired ",
        "   a second run changes nothing: yes",
        "== Rollover: renewal registered, old key retired",
    ):
        assert section in out
    assert '"primaryMasterKey": "' in out and "…(88 chars)" in out
    # The waterfall: the token chain inside the cold request, each span on one line, in start order.
    waterfall = out.split("== Trace of the cold request", 1)[1].split("\n== ", 1)[0].splitlines()
    spans = [line for line in waterfall if re.match(r"^\s+\d+\.\dms\s+\d+\.\dms\s", line)]
    names = [re.sub(r"^[│ ]*(?:[├└]─ )?", "", line.rsplit("█", 1)[1].lstrip()) for line in spans]
    assert names[0].startswith("GET cosmos-keys  (200)"), spans
    for expected in (
        "broker token",
        "managed-identity token  (200)",
        "keyvault get_certificate  (200)",
        "keyvault sign  (200)",
        "entra token  (200)",
        "arm readonlykeys  (200)",
        "CryptographyClient.sign  [azure-core]",
    ):
        assert any(name.startswith(expected) for name in names), (expected, names)
    order = [next(i for i, n in enumerate(names) if n.startswith(e)) for e in ("keyvault sign", "entra token", "arm")]
    assert order == sorted(order)
    assert all(" ok " in line for line in spans), spans
    assert not _SECRET_LIKE.search(out), _SECRET_LIKE.search(out)


@pytest.fixture
def quick_report():
    from bench import run

    return run(quick=True)


def test_bench_quick(quick_report):
    report = quick_report
    keys = ["a", "b", "b'", "c", "d", "e", "e1", "f", "g", "h", "k", "l", "m", "i", "i2", "j", "j1"]
    assert [row.key for row in report.rows] == keys
    assert report.ok, report.markdown()
    concurrent = report.row("c")
    assert concurrent.counts["keyvault.sign"] == 1
    assert concurrent.counts["entra.token"] == 1
    hot = report.row("b")
    assert hot.counts["keyvault.sign"] == 0 and hot.counts["entra.token"] == 0
    table = report.markdown()
    imports = report.row("j")  # telemetry off: no OpenTelemetry module (the 1.2x ratio is judged in full runs)
    assert imports.ok and imports.note.endswith("imported: 0"), imports.cells()
    for key in keys:
        assert f"| {key} |" in table
    # The hot-path targets: single flight is judged even in a quick run; timings are not (noise).
    assert report.row("g").met is True
    assert report.row("g").counts["arm.readonlykeys"] == 1
    assert report.row("f").met is None and "ratio" in report.row("f").figure and "µs" in report.row("f").figure
    assert report.row("h").met is None and "MB" in report.row("h").figure
    assert report.row("i").counts["keyvault.sign"] == 1
    # The keys route: one read and one key call for 64 concurrent misses (judged even in a quick run),
    # and a soak whose every answer was a 200 or ARM's persisting fault mapped (503 + Retry-After, 502).
    assert report.row("l").met is True and sum(report.row("l").counts.values()) == 2
    assert report.row("k").met is None and "ratio" in report.row("k").figure
    soak = report.row("m")
    assert soak.ok and soak.n > 0 and "ARM faults" in soak.figure, soak.cells()
    assert "## Scale" in table and "4,000 (software) / 2,000 (HSM)" in table
    # The second scope's cold token reuses the signed assertion: one Entra round trip, no Key Vault.
    second = report.row("i2")
    assert second.met is True
    assert second.counts["entra.token"] == 1 and second.counts["keyvault.sign"] == 0
    assert second.counts["keyvault.get_certificate"] == 0 and second.counts["graph.users"] == 1
    # Cold start with both scopes: one acquisition's Key Vault cost per instance, so 1,000 fit the HSM limit.
    assert "| 1000 | " in table and report.scale is not None
    assert report.scale.kv_cold_burst(1000) == 1000 * report.scale.kv_per_refresh <= 2000
