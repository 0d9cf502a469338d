"""`make demo`'s certificate rollover: a renewal registered with Graph and the old key retired.

Key Vault renews the certificate (through the emulator's control API: a new current version,
registered nowhere), then ``POST /api/rollover?dryRun=true`` shows the plan and
``POST /api/rollover`` carries it out: ``addKey`` of the new version (proof signed by the old one,
through Key Vault) and a token with the new version; the old key stays for the grace period, which
counts from that registration. The demo then back-dates the registration record by 8 days (the
control API) and runs again: ``removeKey`` of the old one. The keyCredentials are printed throughout.
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
    now = int(time.time())
    # Valid since 30 days and lasting longer than the seed version (a renewal always outlives what it renews).
    renewal = {"register": False, "publish": False, "not_before": now - 30 * 86400, "expires_on": now + 400 * 86400}
    new_version = control("POST", "/_emulator/keyvault/rotate", renewal).json()["version"]
    out.write(f"   Key Vault renewed the certificate: version {new_version} (not registered)\n")
    plan = rollover(dry_run=True)["plan"]
    for item in plan["add"]:
        out.write(f"   would add     {item['thumbprint']} (version {item['version']})\n")
    for item in plan["remove"]:
        out.write(f"   would remove  {item['thumbprint']}: {item['reason']}\n")
    first = rollover(dry_run=False)
    for item in first["added"]:
        out.write(
            f"   registered    {item['thumbprint']} as key {item['keyId']} (proof signed by {item['proofSignedBy']})\n"
        )
    token = first.get("successorToken") or {}
    out.write(f"   token with the new version: {'obtained' if token.get('obtained') else 'not yet'}\n")
    for item in first["skipped"]:
        if item.get("action") == "remove":
            out.write(f"   kept          {item.get('thumbprint')}: {item['reason']}\n")
    out.write(f"   app keyCredentials (thumbprints): {', '.join(_thumbprints(control))}\n")
    # Fast-forward: the registration record ("rollover registered <UTC>") says 8 days ago.
    keys = control("GET", "/_emulator/graph/key-credentials").json()
    for key in keys:
        if str(key.get("displayName", "")).startswith("rollover registered "):
            backdated = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - BACKDATE_DAYS * 86400))
            control(
                "PATCH",
                "/_emulator/graph/key-credentials",
                {"key_id": key["keyId"], "display_name": f"rollover registered {backdated}"},
            )
    out.write(f"   {BACKDATE_DAYS} days later (the registration record back-dated):\n")
    report = rollover(dry_run=False)
    for item in report["removed"]:
        out.write(f"   retired       {item['thumbprint']} (key {item['keyId']}): {item['reason']}\n")
    after = _thumbprints(control)
    out.write(f"   app keyCredentials (thumbprints): {', '.join(after)}\n")
    again = rollover(dry_run=False)
    idempotent = not again["added"] and not again["removed"]
    out.write(f"   a second run changes nothing: {'yes' if idempotent else 'NO'}\n")
    ok = bool(first["added"]) and not first["removed"] and bool(report["removed"]) and len(after) == 1 and idempotent
    out.write(f"== Rollover: {'renewal registered, old key retired' if ok else 'UNEXPECTED'}\n")
    return ok
