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


def test_the_certificate_registered_is_the_one_custody_judged() -> None:
    """A version's DER (read to addKey) whose thumbprint is not the listed one (that custody and the
    plan judged) is refused before addKey, as Key Vault's failure."""
    from datetime import UTC, datetime, timedelta

    from shared.rollover.custody import CustodyFacts
    from shared.rollover.model import CertificateVersion, KeyCredential
    from shared.rollover.service import RolloverService

    now = datetime.now(UTC)
    day = timedelta(days=1)
    listed = [
        CertificateVersion("v1", "A" * 40, True, now - 30 * day, now + 300 * day, now - 30 * day),
        CertificateVersion("v2", "B" * 40, True, now - day, now + 365 * day, now - day, current=True),
    ]
    added: list[bytes] = []

    class Versions:
        name = "broker"

        def list(self) -> list[CertificateVersion]:
            return listed

        def certificate(self, version: str) -> CertificateInfo:
            # Not the certificate whose thumbprint the listing gave for this version.
            return CertificateInfo("broker", version, f"{VAULT}/keys/broker/{version}", b"other der", True, None, None)

    class Keys:
        object_id = "app"

        def read(self) -> list[KeyCredential]:
            return [KeyCredential("k1", "A" * 40, now - timedelta(days=30), now + timedelta(days=300))]

        def add(self, der: bytes, proof: str, *, display_name: str) -> str:
            added.append(der)
            return "k2"

    class Custody:
        def facts(self, version: CertificateVersion) -> CustodyFacts:
            return CustodyFacts("Self", False, now - timedelta(days=60), False, False, version.created_on)

        def refusal(self, version: CertificateVersion, *, registering: bool, facts: CustodyFacts) -> str | None:
            return None

    service = RolloverService(
        versions=Versions(),  # type: ignore[arg-type]
        keys=Keys(),  # type: ignore[arg-type]
        custody=Custody(),  # type: ignore[arg-type]
        proof=lambda certificate: "proof",
        prove_token=lambda certificate: True,
        accept=lambda certificate: None,
        forget_rejection=lambda certificate: None,
        in_use=lambda: "v1",
        grace_days=7,
    )
    with pytest.raises(UpstreamFailed) as caught:
        service.run(dry_run=False, trigger="http")
    assert caught.value.upstream is Upstream.KEYVAULT and "B" * 40 in caught.value.detail
    assert added == []
