"""Unit checks from the security review of issue 14 (docs/security-review.md)."""

from __future__ import annotations

import pytest

from shared.credential_chain import CertificateInfo, KeyVaultSigner
from shared.errors import Upstream, UpstreamFailed
from shared.settings import Algorithm

VAULT = "https://kv-test.vault.azure.net"


@pytest.mark.parametrize("der", [b"not a certificate", b"\x30\x82\x01\x00" + b"\x00" * 8], ids=["junk", "truncated"])
def test_a_cer_key_vault_answered_that_is_no_certificate_is_a_502_not_a_500(der: bytes) -> None:
    # A crafted Key Vault answer (or a proxy's): cryptography raises ValueError, which no handler
    # maps; it must be Key Vault's failure, named, before anything is signed.
    info = CertificateInfo(
        name="broker", version="v1", key_id=f"{VAULT}/keys/broker/v1", der=der, enabled=True, not_before=None,
        expires_on=None,
    )  # fmt: skip
    with pytest.raises(UpstreamFailed) as caught:
        info.public_key()
    assert caught.value.upstream is Upstream.KEYVAULT
    signer = KeyVaultSigner(object(), vault_url=VAULT)  # type: ignore[arg-type]
    with pytest.raises(UpstreamFailed):
        signer.sign(info, Algorithm.RS256, b"\x00" * 32)
