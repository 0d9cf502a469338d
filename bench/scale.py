# docs/operator.md "Scale": what the measured per-refresh counts mean for Key Vault and ARM at N instances
# and R requests/s. Pure arithmetic over the counts bench measured, so the table moves with the code.
#
# Limits (learn.microsoft.com):
# - Key Vault service limits ("Azure Key Vault service limits", key transactions): RSA 2,048-bit
#   software keys 4,000 transactions per 10 s per vault, HSM-protected 2,000 (sign and get count).
# - Azure Resource Manager ("Request limits and throttling", regional token bucket since 2024):
#   writes per subscription and principal: bucket 200, refill 10 per second. listKeys and
#   readonlykeys are POST actions: ARM counts them as writes.
from __future__ import annotations

from dataclasses import dataclass

KV_SOFTWARE_PER_10S = 4000
KV_HSM_PER_10S = 2000
ARM_WRITE_BUCKET = 200
ARM_WRITE_REFILL_PER_S = 10
TOKEN_LIFETIME_S = 3599  # Entra app-only access tokens: ~1 h (60-90 min; the shortest is assumed)
REFRESH_MARGIN_S = 300  # shared/credential_chain/token_provider.py: refreshed at least 5 minutes before expiry
SCOPES = 2  # ARM and Graph: one token each per instance
INSTANCES = (1, 10, 100, 1000)  # Flex Consumption scales to 1,000 instances
RATES = (1, 10, 100, 1000)  # requests/s for one account's keys, spread over the instances
CACHE_SECONDS = (60, 0)


@dataclass(frozen=True)
class Scale:
    kv_per_refresh: int  # Key Vault requests of one token acquisition, as measured (row i)
    # Key Vault requests of the next scope's token while the signed assertion is reused (row i2):
    # 0 since one assertion serves every scope of a tenant (SPEC "Behaviour that users rely on").
    kv_per_second_scope: int | None = None

    @property
    def _next_scope(self) -> int:
        return self.kv_per_refresh if self.kv_per_second_scope is None else self.kv_per_second_scope

    def kv_steady_per_10s(self, instances: int) -> float:
        # An upper bound: the scopes' refreshes share an assertion only when they fall within its
        # reuse window, which steady state does not guarantee, so each scope is counted in full.
        refresh_every = TOKEN_LIFETIME_S - REFRESH_MARGIN_S
        return instances * SCOPES * self.kv_per_refresh * 10 / refresh_every

    def kv_cold_burst(self, instances: int) -> int:
        """Every instance starting in the same 10 s with both routes in use (a deploy, a scale-out)."""
        return instances * (self.kv_per_refresh + (SCOPES - 1) * self._next_scope)

    @staticmethod
    def arm_writes_per_10s(instances: int, rate: float, cache_seconds: int) -> float:
        """listKeys/readonlykeys for one account and key type: each instance's cache misses."""
        if cache_seconds <= 0:
            return rate * 10
        return min(rate * 10, instances * 10 / cache_seconds)

    def markdown(self) -> str:
        kv_limit = f"{KV_SOFTWARE_PER_10S:,} (software) / {KV_HSM_PER_10S:,} (HSM)"
        lines = [
            "## Scale (computed from the measured counts)",
            "",
            f"One token acquisition costs {self.kv_per_refresh} Key Vault requests (measured, row i); the next "
            f"scope's token, while the signed assertion is reused, {self._next_scope} (row i2). Tokens are "
            f"cached per scope ({SCOPES} scopes) and refreshed {REFRESH_MARGIN_S} s before expiry, so Key Vault "
            "load depends on the number of instances, never on the request rate (steady: an upper bound, each "
            "scope's refresh counted in full). Each customer tenant in use (`ENTRA_ALLOWED_TENANTS`) adds one "
            "assertion of its own (its `aud` is that tenant's token URL): one acquisition's cost per instance. "
            "Key Vault limit per vault: "
            f"{kv_limit} transactions per 10 s.",
            "",
            "| instances N | Key Vault / 10 s, steady | Key Vault, all N cold in one 10 s | software | HSM |",
            "|---|---|---|---|---|",
        ]
        for n in INSTANCES:
            burst = self.kv_cold_burst(n)
            software = "pass" if burst <= KV_SOFTWARE_PER_10S else "FAIL"
            hsm = "pass" if burst <= KV_HSM_PER_10S else "FAIL"
            lines.append(f"| {n} | {self.kv_steady_per_10s(n):.2f} | {burst} | {software} | {hsm} |")
        budget = ARM_WRITE_REFILL_PER_S * 10
        lines += [
            "",
            f"ARM writes (`listKeys`/`readonlykeys`) per 10 s for one account and key type, against ARM's "
            f"sustained write budget of {budget} per 10 s per subscription and principal (bucket "
            f"{ARM_WRITE_BUCKET}, refill {ARM_WRITE_REFILL_PER_S}/s):",
            "",
            "| `COSMOS_KEYS_CACHE_SECONDS` | instances N | " + " | ".join(f"R={r}/s" for r in RATES) + " |",
            "|---|---|" + "---|" * len(RATES),
        ]
        for cache in CACHE_SECONDS:
            for n in INSTANCES:
                cells = []
                for r in RATES:
                    writes = self.arm_writes_per_10s(n, r, cache)
                    cells.append(f"{writes:.1f} {'pass' if writes <= budget else 'FAIL'}")
                lines.append(f"| {cache} | {n} | " + " | ".join(cells) + " |")
        lines.append("")
        return "\n".join(lines)
