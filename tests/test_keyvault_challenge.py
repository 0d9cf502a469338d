"""The Key Vault challenge policy: only the SDK's challenge refusals become a 502 naming Key Vault."""

import pytest

from shared.credential_chain.keyvault_challenge import KeyVaultChallengeErrors
from shared.errors import UpstreamFailed


def _raised_inside_handler(exc: Exception) -> None:
    # azure-core calls on_exception from inside its own `except` block; so does this helper.
    try:
        raise exc
    except Exception:
        KeyVaultChallengeErrors().on_exception(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "message",
    [
        "The challenge resource 'vault.azure.net' does not match the requested domain. Pass ...",
        "The challenge contains invalid scope 'x'.",
        "Invalid challenge header",
    ],
)
def test_the_sdks_challenge_refusals_become_a_502_naming_key_vault(message):
    with pytest.raises(UpstreamFailed) as raised:
        _raised_inside_handler(ValueError(message))
    problem = raised.value.to_problem()
    assert (problem["status"], problem["upstream"]) == (502, "keyvault")
    assert "KEY_VAULT_URL" in problem["detail"]


@pytest.mark.parametrize("exc", [ValueError("unrelated"), KeyError("challenge"), RuntimeError("challenge")])
def test_other_errors_pass_through_unchanged(exc):
    _raised_inside_handler(exc)  # returns: azure-core then re-raises the original
