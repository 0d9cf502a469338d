#!/usr/bin/env python3
"""Write local.settings.json for `func start` against the deployed resources.

Reads `azd env get-values --output json` (stdin or --input) and keeps only the SPEC settings
the app reads, so azd's own values (subscription, principal, ...) stay out. Stdlib only; the
values are configuration (IDs, URLs, names), never secrets.

    azd env get-values --output json | python3 scripts/write_local_settings.py
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

# SPEC "Settings", in the SPEC's order. AZURE_CLIENT_ID is left out on purpose: a user-assigned
# identity exists only inside Azure; locally azure-identity falls back to your developer login.
SETTINGS: tuple[str, ...] = (
    "ENTRA_TENANT_ID",
    "ENTRA_CLIENT_ID",
    "KEY_VAULT_URL",
    "KEY_VAULT_CERTIFICATE_NAME",
    "KEY_VAULT_CERTIFICATE_VERSION",
    "AZURE_AUTHORITY_HOST",
    "AZURE_CLOUD",
    "ARM_ENDPOINT",
    "GRAPH_ENDPOINT",
    "ASSERTION_ALGORITHM",
    "ASSERTION_SEND_X5C",
    "ASSERTION_LIFETIME_SECONDS",
    "COSMOS_ACCOUNT_IDS",
    "COSMOS_KEYS_CACHE_SECONDS",
    "CALLER_AUDIENCE",
    "CREDENTIAL_MODE",
    "UPSTREAM_TIMEOUT_SECONDS",
    "ENTRA_APPLICATION_OBJECT_ID",
    "ROLLOVER_SCHEDULE",
    "ROLLOVER_GRACE_DAYS",
    "RESOURCE_KEYS",
)

HOST_VALUES: dict[str, str] = {
    "FUNCTIONS_WORKER_RUNTIME": "python",
    # Host state for timer triggers: Azurite locally (the deployed storage refuses shared keys).
    "AzureWebJobsStorage": "UseDevelopmentStorage=true",
    # Local runs talk to real Key Vault, so the SDK's challenge check stays on.
    "KEY_VAULT_VERIFY_CHALLENGE_RESOURCE": "true",
    # The rollover timer's schedule (function_app registers it; unset means daily): written explicitly.
    "ROLLOVER_SCHEDULE": "0 0 3 * * *",
}


def _resource_keys(value: str) -> str:
    """RESOURCE_KEYS is a JSON array in the azd environment (the `resourceKeys` array parameter)
    and a comma-separated list in the app setting; a value that is already a list passes through."""
    try:
        parsed = json.loads(value)
    except ValueError:
        return value
    if isinstance(parsed, list) and all(isinstance(item, str) for item in parsed):
        return ",".join(item.strip() for item in parsed if item.strip())
    return value


def build(env: dict[str, str]) -> dict[str, object]:
    """Return the local.settings.json document for the given azd environment values."""
    values = dict(HOST_VALUES)
    for name in SETTINGS:
        value = env.get(name, "")
        if name == "RESOURCE_KEYS":
            value = _resource_keys(value)
        if value:  # empty azd outputs mean "unset": the app applies its default
            values[name] = value
    return {"IsEncrypted": False, "Values": values}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, help="JSON from `azd env get-values --output json` (default: stdin)")
    parser.add_argument("--output", type=Path, default=Path("local.settings.json"))
    args = parser.parse_args(argv)
    raw = args.input.read_text(encoding="utf-8") if args.input else sys.stdin.read()
    env = json.loads(raw)
    if not isinstance(env, dict):
        parser.error("expected a JSON object of azd environment values")
    document = build({str(k): str(v) for k, v in env.items()})
    args.output.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    missing = [n for n in ("ENTRA_CLIENT_ID", "KEY_VAULT_URL") if n not in document["Values"]]  # type: ignore[operator]
    where = f" (missing: {', '.join(missing)}; run azd provision)" if missing else ""
    print(f"wrote {args.output}{where}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
