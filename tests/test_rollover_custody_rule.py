"""Key custody (shared/rollover/custody.py) and how the plan sets a refused version aside: pure rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from shared.rollover.custody import CustodyFacts, custody_reasons
from shared.rollover.model import CertificateVersion, KeyCredential
from shared.rollover.plan import REFUSED_CODE, plan_rollover

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)

GOOD = CustodyFacts(
    issuer="Self",
    policy_exportable=False,
    policy_updated=NOW - DAY,
    key_exportable=None,
    key_release_policy=False,
    created=NOW - DAY,
)


def reasons(registering: bool = True, **changes: object) -> list[str]:
    return custody_reasons(replace(GOOD, **changes), version="v1", registering=registering)


def test_a_version_created_with_its_policy_passes() -> None:
    assert reasons() == []
    assert reasons(created=NOW) == []  # created after the policy's last change
    assert reasons(issuer="self") == []  # Key Vault's issuer names are case-insensitive


@pytest.mark.parametrize(
    ("created", "refused"),
    [
        pytest.param(NOW - DAY - SECOND, True, id="one second older than the policy"),
        pytest.param(NOW - 30 * DAY, True, id="a month older"),
        pytest.param(NOW - DAY, False, id="same second as the policy change"),
        pytest.param(NOW - DAY + timedelta(milliseconds=999), False, id="same second, later fraction"),
        pytest.param(NOW - DAY + SECOND, False, id="one second younger"),
    ],
)
def test_a_version_older_than_the_policy_is_refused_when_registering(created: datetime, refused: bool) -> None:
    found = reasons(created=created)
    assert bool(found) is refused
    if refused:
        (reason,) = found
        assert "before the certificate policy's last change" in reason and "v1" in reason
        assert "import followed by a policy reset" in reason


def test_an_older_version_already_registered_is_not_judged_by_creation_time_again() -> None:
    # A later, innocent policy change must not disown the key in use.
    assert reasons(registering=False, created=NOW - 30 * DAY) == []
    assert reasons(registering=False, policy_updated=None, created=None) == []


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"policy_updated": None}, "does not say when it last changed"),
        ({"created": None}, "does not say when version v1 was created"),
    ],
)
def test_missing_times_are_refused_when_registering(changes: dict[str, object], fragment: str) -> None:
    (reason,) = reasons(**changes)
    assert fragment in reason


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"issuer": "Unknown"}, "'Unknown', not 'Self'"),
        ({"issuer": None}, "'not given', not 'Self'"),
        ({"issuer": "DigiCert"}, "'DigiCert'"),
        ({"policy_exportable": True}, "allows exporting"),
        ({"policy_exportable": None}, "allows exporting"),
        ({"key_exportable": True}, "is exportable"),
        ({"key_release_policy": True}, "is exportable"),
    ],
)
def test_the_policy_and_key_signals_refuse_whether_registering_or_not(
    changes: dict[str, object], fragment: str
) -> None:
    for registering in (True, False):
        found = reasons(registering=registering, **changes)
        assert len(found) == 1 and fragment in found[0]


def test_every_failing_signal_is_named() -> None:
    found = reasons(issuer="Unknown", policy_exportable=True, key_exportable=True, created=NOW - 2 * DAY)
    assert len(found) == 4


# ---------------------------------------------------------------- the plan with refused versions


def version(name: str, *, days_ago: int, lifetime: int = 365) -> CertificateVersion:
    created = NOW - days_ago * DAY
    return CertificateVersion(
        version=name,
        thumbprint=name.upper().ljust(40, "0"),
        enabled=True,
        not_before=created,
        expires_on=created + lifetime * DAY,
        created_on=created,
    )


def key(v: CertificateVersion, key_id: str) -> KeyCredential:
    return KeyCredential(key_id=key_id, thumbprint=v.thumbprint, start=v.not_before, end=v.expires_on)


OLD = version("aa", days_ago=300)
IMPORTED = version("bb", days_ago=2)
RENEWAL = version("cc", days_ago=1)


def plan(versions, keys, refused):
    return plan_rollover(
        versions,
        keys,
        now=NOW,
        grace=7 * DAY,
        in_use=OLD.version,
        certificate_name="broker-signing",
        refused=refused,
    )


def test_a_refused_newest_version_is_set_aside_and_the_registered_one_stays_the_successor() -> None:
    result = plan([OLD, IMPORTED], [key(OLD, "k1")], {IMPORTED.version: "older than its policy"})
    assert result.successor == OLD and result.add is None and result.blocked is None
    assert result.refusals == ((IMPORTED, "older than its policy"),)
    assert result.refused is None
    (skip,) = [s for s in result.skipped if s.code == REFUSED_CODE]
    assert (skip.action, skip.version, skip.thumbprint) == ("add", IMPORTED.version, IMPORTED.thumbprint)
    assert {row.version.version: row.state for row in result.rows}[IMPORTED.version] == "refused"
    assert result.action_required == "older than its policy"


def test_a_later_renewal_is_added_despite_an_earlier_refusal() -> None:
    result = plan([OLD, IMPORTED, RENEWAL], [key(OLD, "k1")], {IMPORTED.version: "older than its policy"})
    assert result.successor == RENEWAL and result.add == RENEWAL


def test_a_refused_version_is_never_added_even_without_a_registered_one() -> None:
    # Nothing registered and only the refused version valid: blocked, naming the refusal, not
    # telling the operator to register it by hand.
    result = plan([IMPORTED], [], {IMPORTED.version: "older than its policy"})
    assert result.add is None and result.successor is None
    assert result.refused == IMPORTED and result.blocked == "older than its policy"


def test_expired_keys_still_go_while_a_refused_version_waits() -> None:
    expired = version("dd", days_ago=400, lifetime=30)
    keys = [key(OLD, "k1"), key(expired, "k0")]
    result = plan([expired, OLD, IMPORTED], keys, {IMPORTED.version: "older than its policy"})
    assert [r.key_id for r in result.remove] == ["k0"]
    assert result.blocked is None
