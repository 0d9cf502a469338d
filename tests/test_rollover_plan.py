"""The rollover plan: every rule of issue 7 as a pure function of Key Vault versions and keyCredentials."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from shared.rollover.model import CertificateVersion, KeyCredential, registration_name
from shared.rollover.plan import plan_rollover

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
GRACE = 7 * DAY


def version(name: str, *, created: int, lifetime: int = 365, enabled: bool = True, nbf: int | None = None):
    """A version created `created` days from NOW (negative: in the past), valid for `lifetime` days."""
    created_on = NOW + created * DAY
    not_before = NOW + (created if nbf is None else nbf) * DAY
    return CertificateVersion(
        version=name,
        thumbprint=name.upper().ljust(40, "0"),
        enabled=enabled,
        not_before=not_before,
        expires_on=not_before + lifetime * DAY,
        created_on=created_on,
    )


def key(
    v: CertificateVersion | str,
    key_id: str,
    *,
    end: datetime | None = None,
    certificate: bool = True,
    registered: datetime | None = None,
):
    thumbprint = v.thumbprint if isinstance(v, CertificateVersion) else v
    start = v.not_before if isinstance(v, CertificateVersion) else NOW - DAY
    if end is None:
        end = v.expires_on if isinstance(v, CertificateVersion) else NOW + 100 * DAY
    return KeyCredential(
        key_id=key_id,
        thumbprint=thumbprint,
        start=start,
        end=end,
        verify_certificate=certificate,
        display_name=registration_name(registered) if registered else "CN=broker",
    )


OLD = version("aa", created=-300)  # valid until NOW + 65 days
NEW = version("bb", created=-10)  # the renewal, 10 days ago
FRESH = version("cc", created=-1)  # a renewal of yesterday


def plan(versions, keys, *, in_use=None, proven=False, grace=GRACE, now=NOW):
    return plan_rollover(
        versions, keys, now=now, grace=grace, in_use=in_use, successor_proven=proven, certificate_name="broker"
    )


def test_nothing_to_do_when_the_only_version_is_registered():
    result = plan([OLD], [key(OLD, "k1")])
    assert (result.add, result.remove, result.blocked) == (None, (), None)
    assert result.successor == OLD
    assert result.no_valid_key_after == OLD.expires_on


def test_an_unregistered_renewal_is_added_with_a_proof_from_the_registered_version():
    result = plan([OLD, FRESH], [key(OLD, "k1")], in_use="aa")
    assert result.add == FRESH
    assert result.signers == (OLD,)
    assert result.remove == ()
    # A renewal 10 days old, registered only now: its grace period starts now, not at its notBefore.
    result = plan([OLD, NEW], [key(OLD, "k1")], in_use="aa")
    assert result.add == NEW
    assert result.remove == ()
    (skip,) = [s for s in result.skipped if s.key_id == "k1"]
    assert "registered in this run" in skip.reason
    assert [r.state for r in result.rows] == ["current", "superseded"]


def test_without_a_registered_valid_version_the_plan_is_blocked_and_names_the_thumbprint():
    expired = version("aa", created=-400)
    result = plan([expired, NEW], [key(expired, "k1")])
    assert result.add is None
    assert NEW.thumbprint in result.blocked and NEW.version in result.blocked
    assert result.no_valid_key_after is None
    # The expired key is still planned for removal; the executor finds no signer for its proof.
    assert [r.key_id for r in result.remove] == ["k1"]


def test_no_valid_version_in_key_vault_is_blocked():
    expired = version("aa", created=-400)
    result = plan([expired], [key(expired, "k1")])
    assert result.successor is None
    assert "no enabled, currently valid version" in result.blocked


@pytest.mark.parametrize(
    ("proven", "in_use", "grace", "removed", "reason"),
    [
        (True, "bb", GRACE, ["k1"], "superseded by version bb"),
        (False, "bb", GRACE, ["k1"], None),  # planned, but only after a token with bb
        (True, "aa", GRACE, [], "in use"),
        (False, "aa", GRACE, ["k1"], None),  # the token with bb moves this instance off aa first
        (True, "bb", 30 * DAY, [], "grace period ends"),
        (True, None, 0 * DAY, ["k1"], "superseded"),
    ],
)
def test_a_superseded_key_goes_after_the_grace_period_and_a_token_with_its_successor(
    proven, in_use, grace, removed, reason
):
    result = plan([OLD, NEW], [key(OLD, "k1"), key(NEW, "k2")], in_use=in_use, proven=proven, grace=grace)
    assert [r.key_id for r in result.remove] == removed
    for removal in result.remove:
        assert removal.needs_proof_of_use is (not proven)
    texts = [r.reason for r in result.remove] + [s.reason for s in result.skipped]
    if reason:
        assert any(reason in t for t in texts), texts


def test_grace_counts_from_when_the_successor_became_available():
    result = plan([OLD, FRESH], [key(OLD, "k1"), key(FRESH, "k2")], in_use="cc", proven=True)
    assert result.remove == ()
    (skip,) = [s for s in result.skipped if s.key_id == "k1"]
    assert "grace period ends 2026-06-07" in skip.reason


def test_an_expired_key_is_removed_without_waiting():
    expired = version("aa", created=-400)
    result = plan([expired, NEW], [key(expired, "k1"), key(NEW, "k2")], in_use="bb")
    assert [(r.key_id, r.needs_proof_of_use) for r in result.remove] == [("k1", False)]
    assert "expired on" in result.remove[0].reason


def test_a_key_whose_credential_window_ended_counts_as_expired():
    result = plan([OLD, NEW], [key(OLD, "k1", end=NOW - DAY), key(NEW, "k2")], in_use="bb")
    assert [r.key_id for r in result.remove] == ["k1"]


def test_duplicates_of_one_thumbprint_keep_the_lowest_key_id():
    result = plan([OLD, NEW], [key(OLD, "k1"), key(NEW, "k9"), key(NEW, "k3"), key(NEW, "k5")], in_use="aa")
    assert sorted(r.key_id for r in result.remove if r.duplicate) == ["k5", "k9"]
    assert all("k3 stays" in r.reason for r in result.remove if r.duplicate)


def test_duplicates_of_the_version_in_use_are_removed_too():
    result = plan([OLD], [key(OLD, "k2"), key(OLD, "k1")], in_use="aa")
    assert [r.key_id for r in result.remove] == ["k2"]


@pytest.mark.parametrize(
    "foreign",
    [
        pytest.param(lambda: key("F" * 40, "other"), id="another certificate"),
        pytest.param(lambda: key(None, "secretish", certificate=False), id="not a certificate"),
        pytest.param(lambda: key("E" * 40, "expired-other", end=NOW - DAY), id="expired, another certificate"),
    ],
)
def test_keys_of_other_certificates_are_never_touched(foreign):
    other = foreign()
    expired = version("aa", created=-400)
    result = plan([expired, NEW], [other, key(expired, "k1"), key(NEW, "k2")], in_use="bb", proven=True)
    assert other.key_id not in {r.key_id for r in result.remove}
    assert result.foreign_key_ids == (other.key_id,)
    assert any(s.key_id == other.key_id and "not a version of certificate 'broker'" in s.reason for s in result.skipped)


def test_the_successor_is_never_removed_and_newer_invalid_versions_are_left_alone():
    future = version("dd", created=-1, nbf=5)  # created after NEW, valid only in 5 days
    result = plan([OLD, NEW, future], [key(NEW, "k2"), key(future, "k4")], in_use="bb", proven=True, grace=0 * DAY)
    assert result.successor == NEW
    assert result.remove == ()
    assert any(s.key_id == "k4" and "newer than the current version" in s.reason for s in result.skipped)
    assert {r.version.version: r.state for r in result.rows}["dd"] == "newer"


def test_a_disabled_successor_candidate_is_skipped_for_the_newest_enabled_one():
    disabled = version("dd", created=-1, enabled=False)
    result = plan([OLD, disabled], [key(OLD, "k1")], in_use="aa")
    assert result.successor == OLD
    assert result.add is None


@pytest.mark.parametrize("grace_days", [1, 7])
def test_a_successor_added_by_the_same_plan_never_lets_a_removal_happen(grace_days):
    result = plan([OLD, NEW], [key(OLD, "k1")], in_use=None, proven=True, grace=grace_days * DAY)
    assert result.add == NEW
    assert result.remove == ()
    # Re-planned after the add (the run re-reads Graph): still nothing, whatever the grace.
    again = plan_rollover(
        [OLD, NEW],
        [key(OLD, "k1"), key(NEW, "k2")],
        now=NOW,
        grace=grace_days * DAY,
        in_use=None,
        successor_proven=True,
        certificate_name="broker",
        added=frozenset({"bb"}),
    )
    assert again.remove == ()
    assert any(f"grace period of {grace_days} days starts now" in s.reason for s in again.skipped)


def test_with_a_grace_of_zero_the_proven_successor_retires_the_old_key_in_the_same_run():
    after_add = plan_rollover(
        [OLD, NEW],
        [key(OLD, "k1"), key(NEW, "k2")],
        now=NOW,
        grace=0 * DAY,
        in_use=None,
        successor_proven=True,
        certificate_name="broker",
        added=frozenset({"bb"}),
    )
    assert [r.key_id for r in after_add.remove] == ["k1"]
    unproven = plan_rollover(
        [OLD, NEW],
        [key(OLD, "k1"), key(NEW, "k2")],
        now=NOW,
        grace=0 * DAY,
        in_use=None,
        successor_proven=False,
        certificate_name="broker",
        added=frozenset({"bb"}),
    )
    assert all(r.needs_proof_of_use for r in unproven.remove)


def test_an_ended_registration_of_the_successor_is_registered_again_and_then_removed():
    result = plan([OLD, NEW], [key(OLD, "k1"), key(NEW, "k0", end=NOW - DAY)], in_use="aa")
    assert result.add == NEW
    after = plan([OLD, NEW], [key(OLD, "k1"), key(NEW, "k0", end=NOW - DAY), key(NEW, "k7")], in_use="aa")
    assert after.add is None
    (ended,) = [r for r in after.remove if r.duplicate]
    assert ended.key_id == "k0" and "registration ended" in ended.reason


def test_an_expired_registration_is_removed_even_when_blocked():
    result = plan([OLD, NEW], [key(OLD, "k1", end=NOW - DAY)], proven=True)
    assert NEW.thumbprint in result.blocked
    assert [r.key_id for r in result.remove] == ["k1"]  # its window ended: not a valid key any more


def test_removal_waits_for_the_successor_to_be_registered():
    expired = version("zz", created=-400)  # no signer: the successor cannot be added
    result = plan([expired, OLD, NEW], [key(expired, "k0"), key(OLD, "k1", end=NOW - DAY)], proven=True)
    assert result.add is None and result.blocked
    assert all(s.key_id != "k1" or "not registered" in s.reason for s in result.skipped)


VERSIONS = [
    version("a1", created=-500),  # expired
    OLD,
    version("d1", created=-200, enabled=False),
    NEW,
    FRESH,
    version("f1", created=0, nbf=3),  # not yet valid
]


@pytest.mark.parametrize("seed", range(60))
@pytest.mark.parametrize("proven", [False, True])
def test_no_plan_ever_removes_the_last_valid_key_the_key_in_use_or_a_foreign_key(seed, proven):
    rng = random.Random(seed)
    keys = [key(v, f"k{i}{j}") for i, v in enumerate(VERSIONS) for j in range(rng.choice([0, 0, 1, 2]))]
    keys.append(key("F" * 40, "zz-foreign"))
    in_use = rng.choice([None, *(v.version for v in VERSIONS)])
    result = plan(VERSIONS, keys, in_use=in_use, proven=proven, grace=rng.choice([0 * DAY, GRACE]))
    # Removals awaiting a token with a successor this plan adds run only after a new plan.
    removed = {r.key_id for r in result.remove if not (r.needs_proof_of_use and result.add)}
    valid_thumbprints = {v.thumbprint for v in VERSIONS if v.valid(NOW)}
    valid_before = [k for k in keys if k.valid(NOW) and k.thumbprint in valid_thumbprints]
    assert not valid_before or [k for k in valid_before if k.key_id not in removed]
    assert "zz-foreign" not in removed
    in_use_keys = [k for k in keys if k.thumbprint == (in_use or "").upper().ljust(40, "0")]
    removed_now = {r.key_id for r in result.remove if not r.needs_proof_of_use}
    assert not in_use_keys or any(k.key_id not in removed_now for k in in_use_keys)
    if result.successor is not None:
        successor_keys = [k for k in keys if k.thumbprint == result.successor.thumbprint]
        assert not successor_keys or any(k.key_id not in removed for k in successor_keys)
    # Applying the plan and planning again removes nothing more of what stayed valid.
    if not result.add and not any(r.needs_proof_of_use for r in result.remove):
        again = plan(VERSIONS, [k for k in keys if k.key_id not in removed], in_use=in_use, proven=proven)
        assert all(not r.duplicate for r in again.remove)


def test_after_the_add_a_second_plan_is_idempotent():
    keys = [key(OLD, "k1"), key(NEW, "k2")]
    first = plan([OLD, NEW], keys, in_use="bb", proven=True, grace=0 * DAY)
    assert [r.key_id for r in first.remove] == ["k1"]
    second = plan([OLD, NEW], [key(NEW, "k2")], in_use="bb", proven=True, grace=0 * DAY)
    assert (second.add, second.remove, second.blocked) == (None, (), None)
    assert second.no_valid_key_after == NEW.expires_on


def test_no_valid_key_after_is_the_latest_end_of_a_registered_valid_version():
    result = plan([OLD, NEW], [key(OLD, "k1"), key(NEW, "k2", end=NOW + 200 * DAY)])
    assert result.no_valid_key_after == NOW + 200 * DAY


def test_key_vaults_current_version_is_the_newest_whatever_the_timestamps_say():
    from dataclasses import replace

    # Created in the same second (or with skewed clocks): Key Vault's "current" decides.
    tied = replace(OLD, version="ee", thumbprint="EE".ljust(40, "0"), current=True)
    result = plan([tied, OLD], [key(OLD, "k1")], in_use="aa")
    assert result.successor == tied
    assert result.add == tied
    assert result.rows[0].version.version == "ee"


def test_grace_counts_from_the_earlier_of_creation_and_validity():
    from dataclasses import replace

    created_long_ago = replace(FRESH, created_on=NOW - 30 * DAY)  # valid since yesterday, created a month ago
    result = plan([OLD, created_long_ago], [key(OLD, "k1"), key(created_long_ago, "k2")], in_use="cc", proven=True)
    assert [r.key_id for r in result.remove] == ["k1"]


# ---------------------------------------------------------------- duplicates and the last valid key (REVIEW-1, 4)

SHORT_ID, LONG_ID = "00000000-0000-0000-0000-000000000001", "ffffffff-0000-0000-0000-000000000002"


def test_of_duplicate_registrations_the_one_that_lasts_longest_stays_whatever_its_key_id():
    # `az ad app credential reset --cert --end-date` registered the only version a second time,
    # ending in 2 days, under the LOWER keyId.
    short, long_ = key(OLD, SHORT_ID, end=NOW + 2 * DAY), key(OLD, LONG_ID)
    result = plan([OLD], [short, long_], in_use="aa")
    assert [r.key_id for r in result.remove] == [SHORT_ID]
    assert result.no_valid_key_after == OLD.expires_on
    # Three days later the app still has a valid key.
    later = plan([OLD], [long_], in_use="aa", now=NOW + 3 * DAY)
    assert (later.blocked, later.remove) == (None, ())


def test_equal_duplicates_keep_the_lowest_key_id():
    result = plan([OLD], [key(OLD, LONG_ID), key(OLD, SHORT_ID)], in_use="aa")
    assert [r.key_id for r in result.remove] == [LONG_ID]


def test_no_valid_key_after_is_what_is_left_once_the_plan_ran():
    # The add is part of the plan: the app has a key until the renewal expires.
    result = plan([OLD, FRESH], [key(OLD, "k1")], in_use="aa")
    assert result.add == FRESH
    assert result.no_valid_key_after == FRESH.expires_on
    # A short duplicate that goes does not count; the longer registration that stays does.
    result = plan([OLD], [key(OLD, SHORT_ID), key(OLD, LONG_ID, end=NOW + 2 * DAY)], in_use="aa")
    assert [r.key_id for r in result.remove] == [LONG_ID]
    assert result.no_valid_key_after == OLD.expires_on


def test_a_valid_key_that_outlives_every_key_that_would_remain_is_kept():
    # The successor's registration ends in 5 days (registered by hand with --end-date); the superseded
    # version's key lasts 65 more days: removing it would leave the app keyless in 5 days.
    result = plan([OLD, NEW], [key(OLD, "k1"), key(NEW, "k2", end=NOW + 5 * DAY)], in_use="bb", proven=True)
    assert result.remove == ()
    assert any(s.key_id == "k1" and "later than every key that would remain" in s.reason for s in result.skipped)
    assert result.no_valid_key_after == OLD.expires_on


# ---------------------------------------------------------------- grace from the registration (REVIEW-1, 3)


def test_grace_counts_from_the_successors_registration_record_not_its_not_before():
    # NEW became valid 10 days ago but the rollover registered it only 2 days ago.
    result = plan([OLD, NEW], [key(OLD, "k1"), key(NEW, "k2", registered=NOW - 2 * DAY)], in_use="bb", proven=True)
    assert result.remove == ()
    (skip,) = [s for s in result.skipped if s.key_id == "k1"]
    assert "registered since 2026-05-30T12:00:00Z" in skip.reason
    assert "grace period ends 2026-06-06T12:00:00Z" in skip.reason
    # Eight days after the registration it goes.
    later = plan([OLD, NEW], [key(OLD, "k1"), key(NEW, "k2", registered=NOW - 8 * DAY)], in_use="bb", proven=True)
    assert [r.key_id for r in later.remove] == ["k1"]
    assert "registered since 2026-05-24T12:00:00Z" in later.remove[0].reason


def test_a_registration_record_before_the_successor_became_valid_counts_from_its_validity():
    result = plan([OLD, FRESH], [key(OLD, "k1"), key(FRESH, "k2", registered=NOW - 30 * DAY)], proven=True)
    assert result.remove == ()  # FRESH is valid since yesterday: the grace has not passed


def test_the_registration_record_survives_a_round_trip_through_its_display_name():
    moment = datetime(2026, 11, 30, 5, 33, 22, tzinfo=UTC)
    name = registration_name(moment)
    assert len(name) <= 90  # Graph shortens longer displayNames
    assert key(OLD, "k1", registered=moment).registered_at == moment
    for other in ("CN=broker", "", "rollover registered yesterday", name + " (edited)"):
        assert KeyCredential("k", "AA", None, None, display_name=other).registered_at is None


@pytest.mark.parametrize(
    "record",
    [datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC), NOW + 400 * DAY],
    ids=["year-9999", "next-year"],
)
def test_a_registration_record_in_the_future_counts_as_no_record(record):
    # The record is a displayName whoever can addKey sets (a keys/sign holder registering the
    # renewal first, or a forged Graph answer): a date after now is not believed. It must neither
    # overflow (a 500 on every run) nor postpone the grace period forever: the key counts as
    # registered without a record, as one registered by hand (grace from the version's start).
    forged = plan([OLD, NEW], [key(OLD, "k1"), key(NEW, "k2", registered=record)], in_use="bb", proven=True)
    by_hand = plan([OLD, NEW], [key(OLD, "k1"), key(NEW, "k2")], in_use="bb", proven=True)
    assert [r.key_id for r in forged.remove] == [r.key_id for r in by_hand.remove] == ["k1"]
    assert forged.remove[0].reason == by_hand.remove[0].reason
