"""Key Vault's challenge, refused by the SDK, as the 502 it is (upstream ``keyvault``), not a 500.

azure-keyvault's ``ChallengeAuthPolicy`` checks that the resource a vault's 401 challenge names
belongs to the vault's own domain (``verify_challenge_resource``, on by default): a host that is
not a real vault must not obtain a token for Key Vault. The policy refuses such a challenge, or
one it cannot parse, by raising ``ValueError`` ("The challenge resource '…' does not match the
requested domain", "Invalid challenge header") out of the SDK call. This per-call policy sits
before the retry and authentication policies of every Key Vault client and turns that refusal
into a problem naming Key Vault and ``KEY_VAULT_URL``.
"""

from __future__ import annotations

import sys
from typing import Any

from azure.core.pipeline import PipelineRequest
from azure.core.pipeline.policies import SansIOHTTPPolicy

from ..errors import Upstream, UpstreamFailed
from ..upstream import origin


class KeyVaultChallengeErrors(SansIOHTTPPolicy[Any, Any]):
    """Stateless (a SansIO policy), so one instance may serve every Key Vault client's pipeline."""

    def on_exception(self, request: PipelineRequest[Any]) -> None:
        # azure-core calls this inside its exception handler and re-raises unless this raises.
        exc = sys.exc_info()[1]
        if isinstance(exc, ValueError) and "challenge" in str(exc).lower():
            url = getattr(getattr(request, "http_request", None), "url", None)
            vault = origin(url) if url else "KEY_VAULT_URL"
            raise UpstreamFailed(
                "Key Vault's authentication challenge was refused: the resource it names does not belong to the "
                "vault's domain, or the challenge is malformed. Check that KEY_VAULT_URL is your vault's URI in the "
                "cloud's Key Vault domain.",
                upstream=Upstream.KEYVAULT,
                code="ChallengeResourceMismatch",
                # The SDK's own text names the challenge's resource and the vault host; both are the
                # operator's to see, not the caller's.
                log_hint=f"Key Vault at {vault} (KEY_VAULT_URL): the SDK refused its challenge: {str(exc)[:300]}",
            ) from None
