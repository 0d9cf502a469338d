"""`make demo`'s certificate rollover: a renewal registered with Graph and the old key retired.

Key Vault renews the certificate (through the emulator's control API: a new current version,
valid since 8 days so the 7-day grace period has passed, registered nowhere), then
``POST /api/rollover?dryRun=true`` shows the plan and ``POST /api/rollover`` carries it out:
``addKey`` of the new version (proof signed by the old one, through Key Vault), a token with the
new version, ``removeKey`` of the old one. The app's keyCredentials are printed before and after.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TextIO

import requests

TIMEOUT_SECONDS = 30.0
BACKDATE_DAYS = 8


def _thumbprints(control: Callable[..., requests.Response]) -> list[str]:
    keys = control("GET", "/_emulator/graph/key-credentials").json()
    return [str(k.get("customKeyIdentifier")) for k in keys]


def walk_through_rollover(
    session: requests.Session, base_url: str, function_key: str, control_url: str, ca: str, out: TextIO
) -> bool:
    def control(method: str, path: str, body: Any = None) -> requests.Response:
        response = requests.request(method, control_url + path, json=body, verify=ca, timeout=TIMEOUT_SECONDS)
        response.raise_for_status()
        return response

    def rollover(dry_run: bool) -> dict[str, Any]:
        response = session.post(
            f"{base_url}/api/rollover",
            params={"dryRun": "true" if dry_run else "false"},
            headers={"x-functions-key": function_key},
            timeout=TIMEOUT_SECONDS,
        )
        out.write(f"\n── POST /api/rollover?dryRun={str(dry_run).lower()}  →  {response.status_code}\n")
        response.raise_for_status()
        return response.json()

    out.write("\n== Certificate rollover\n")
    before = _thumbprints(control)
    out.write(f"   app keyCredentials (thumbprints): {', '.join(before)}\n")
    not_before = int(time.time()) - BACKDATE_DAYS * 86400
    version = control(
        "POST", "/_emulator/keyvault/rotate", {"register": False, "publish": False, "not_before": not_before}
    )
    new_version = version.json()["version"]
    out.write(
        f"   Key Vault renewed the certificate: version {new_version} "
        f"(valid since {BACKDATE_DAYS} days, not registered)\n"
    )
    plan = rollover(dry_run=True)["plan"]
    for item in plan["add"]:
        out.write(f"   would add     {item['thumbprint']} (version {item['version']})\n")
    for item in plan["remove"]:
        out.write(f"   would remove  {item['thumbprint']}: {item['reason']}\n")
    report = rollover(dry_run=False)
    for item in report["added"]:
        out.write(
            f"   registered    {item['thumbprint']} as key {item['keyId']} (proof signed by {item['proofSignedBy']})\n"
        )
    token = report.get("successorToken") or {}
    out.write(f"   token with the new version: {'obtained' if token.get('obtained') else 'not yet'}\n")
    for item in report["removed"]:
        out.write(f"   retired       {item['thumbprint']} (key {item['keyId']}): {item['reason']}\n")
    after = _thumbprints(control)
    out.write(f"   app keyCredentials (thumbprints): {', '.join(after)}\n")
    again = rollover(dry_run=False)
    idempotent = not again["added"] and not again["removed"]
    out.write(f"   a second run changes nothing: {'yes' if idempotent else 'NO'}\n")
    ok = bool(report["added"]) and bool(report["removed"]) and len(after) == 1 and idempotent
    out.write(f"== Rollover: {'renewal registered, old key retired' if ok else 'UNEXPECTED'}\n")
    return ok
