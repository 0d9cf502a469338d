"""The rollover plan: a pure function from what Key Vault and Graph say now to what to change.

Rules (issue 7, SPEC "Certificate rollover"):

* the newest enabled, currently valid version (the *successor*) is added when no key credential
  carries its thumbprint; the proof comes from a registered, valid version — without one the plan
  is *blocked* and names the thumbprint to register by hand;
* only key credentials whose thumbprint is a version of this certificate are ever removed; extra
  registrations of one thumbprint go first (the lowest ``keyId`` stays, so concurrent runs agree);
* a registered version is removed when it has expired, or when the successor, registered, has been
  available for ``grace`` and a token was obtained with it (``successor_proven``);
* never the version in use, never the successor, never the last valid key.

Nothing here performs I/O, so every rule is a parametrized unit test.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from .model import CertificateVersion, KeyCredential


@dataclass(frozen=True)
class Removal:
    key_id: str
    version: str
    thumbprint: str
    reason: str
    needs_proof_of_use: bool = False  # superseded, still valid: only after a token with the successor
    duplicate: bool = False  # another key with the same thumbprint stays


@dataclass(frozen=True)
class Skip:
    action: str  # "add" | "remove"
    reason: str
    key_id: str | None = None
    version: str | None = None
    thumbprint: str | None = None


@dataclass(frozen=True)
class VersionRow:
    version: CertificateVersion
    state: str  # current | superseded | expired | disabled | not-yet-valid | newer
    key_ids: tuple[str, ...]
    in_use: bool


@dataclass(frozen=True)
class Plan:
    rows: tuple[VersionRow, ...]
    successor: CertificateVersion | None
    add: CertificateVersion | None
    signers: tuple[CertificateVersion, ...]  # registered, valid: may sign a proof; newest first
    remove: tuple[Removal, ...]
    skipped: tuple[Skip, ...]
    blocked: str | None
    no_valid_key_after: datetime | None
    foreign_key_ids: tuple[str, ...] = field(default=())
    refused: CertificateVersion | None = None  # the successor whose key may exist outside the vault

    def refuse(self, reason: str) -> Plan:
        """The same view with nothing to do: the successor may not be registered (see custody.py),
        and nothing that depends on it (retiring the keys it supersedes) may happen either."""
        assert self.successor is not None
        successor = self.successor
        skipped = (
            *self.skipped,
            Skip("add", reason, version=successor.version, thumbprint=successor.thumbprint),
            *(Skip("remove", reason, key_id=r.key_id, version=r.version, thumbprint=r.thumbprint) for r in self.remove),
        )
        return replace(self, add=None, remove=(), skipped=skipped, blocked=reason, refused=successor)

    @property
    def awaiting_proof_of_use(self) -> bool:
        return any(r.needs_proof_of_use for r in self.remove)


def _iso(moment: datetime | None) -> str:
    return moment.isoformat().replace("+00:00", "Z") if moment else "unknown"


def _newest_first(versions: Iterable[CertificateVersion]) -> list[CertificateVersion]:
    return sorted(versions, key=lambda v: v.age_key, reverse=True)


def _state(version: CertificateVersion, successor: CertificateVersion | None, now: datetime) -> str:
    if successor is not None and version.version == successor.version:
        return "current"
    if version.expired(now):
        return "expired"
    if successor is not None and version.age_key > successor.age_key:
        return "newer"
    if not version.enabled:
        return "disabled"
    if version.not_before is not None and now < version.not_before:
        return "not-yet-valid"
    return "superseded"


def plan_rollover(
    versions: Sequence[CertificateVersion],
    keys: Sequence[KeyCredential],
    *,
    now: datetime,
    grace: timedelta,
    in_use: str | None,
    successor_proven: bool = False,
    certificate_name: str = "",
) -> Plan:
    by_thumbprint = {v.thumbprint: v for v in versions}
    ours: dict[str, list[KeyCredential]] = {}
    foreign: list[str] = []
    skipped: list[Skip] = []
    for key in keys:
        if key.verify_certificate and key.thumbprint in by_thumbprint:
            ours.setdefault(key.thumbprint, []).append(key)
        else:
            foreign.append(key.key_id)
            skipped.append(
                Skip(
                    "remove",
                    f"not a version of certificate '{certificate_name}': left alone",
                    key_id=key.key_id,
                    thumbprint=key.thumbprint,
                )
            )
    for group in ours.values():
        # The registration that stays: a valid one first, then the lowest keyId (concurrent runs agree).
        group.sort(key=lambda k: (not k.valid(now), k.key_id))

    def registered_valid(version: CertificateVersion) -> bool:
        return version.valid(now) and any(k.valid(now) for k in ours.get(version.thumbprint, ()))

    valid = _newest_first(v for v in versions if v.valid(now))
    successor = valid[0] if valid else None
    signers = tuple(v for v in valid if registered_valid(v))

    add: CertificateVersion | None = None
    blocked: str | None = None
    if successor is None:
        blocked = (
            f"Certificate '{certificate_name}' has no enabled, currently valid version in Key Vault: renew it "
            "(or enable a valid version); nothing can be registered until then."
        )
    elif not registered_valid(successor):
        if signers:
            add = successor
        else:
            blocked = (
                f"No registered certificate version is valid, so Graph cannot accept a proof of possession: "
                f"register version {successor.version} of certificate '{certificate_name}' (SHA-1 thumbprint "
                f"{successor.thumbprint}) on the app registration by hand (portal, or the postprovision hook); "
                "the rollover takes over from there."
            )
            skipped.append(Skip("add", blocked, version=successor.version, thumbprint=successor.thumbprint))
    successor_registered = successor is not None and registered_valid(successor)

    removals: list[Removal] = []
    for thumbprint, group in ours.items():
        version = by_thumbprint[thumbprint]
        keep, extras = group[0], group[1:]
        for extra in extras:
            if extra.valid(now) or not keep.valid(now):
                reason = f"duplicate registration of thumbprint {thumbprint}; key {keep.key_id} stays"
            else:
                reason = f"registration ended on {_iso(extra.end)}; key {keep.key_id} of the same certificate stays"
            removals.append(Removal(extra.key_id, version.version, thumbprint, reason, duplicate=True))
        if successor is not None and version.version == successor.version:
            continue

        def skip(reason: str, key: KeyCredential = keep, v: CertificateVersion = version) -> None:
            skipped.append(Skip("remove", reason, key_id=key.key_id, version=v.version, thumbprint=v.thumbprint))

        # The version in use may go only once a token with the successor moved this instance to it.
        in_use_here = version.version == in_use
        if in_use_here and (successor_proven or successor is None):
            skip("in use: this instance signs its assertions with this version")
            continue
        if version.expired(now) or (keep.end is not None and now >= keep.end):
            removals.append(
                Removal(
                    keep.key_id,
                    version.version,
                    thumbprint,
                    f"expired on {_iso(version.expires_on)}",
                    needs_proof_of_use=in_use_here,
                )
            )
            continue
        if successor is None:
            skip("no valid version to take over from it")
            continue
        if version.age_key > successor.age_key:
            skip(f"newer than the current version {successor.version} (disabled or not yet valid): left alone")
            continue
        if not successor_registered and add is None:
            skip(f"its successor, version {successor.version}, is not registered")
            continue
        grace_ends = successor.available_since + grace
        if now < grace_ends:
            skip(
                f"superseded by version {successor.version} since {_iso(successor.available_since)}; "
                f"the grace period ends {_iso(grace_ends)}"
            )
            continue
        removals.append(
            Removal(
                keep.key_id,
                version.version,
                thumbprint,
                f"superseded by version {successor.version} since {_iso(successor.available_since)} "
                f"and the grace period of {grace.days} days has passed",
                # A successor added by this plan is proven only by a token obtained after the add.
                needs_proof_of_use=not successor_proven or add is not None,
            )
        )

    # Never leave the app without a valid key of this certificate, whatever the rules above said.
    removed_ids = {r.key_id for r in removals}
    remaining_valid = [
        k
        for thumbprint, group in ours.items()
        for k in group
        if k.key_id not in removed_ids and by_thumbprint[thumbprint].valid(now) and k.valid(now)
    ]
    if not remaining_valid and not (add is not None):
        kept: list[Removal] = []
        by_key_id = {k.key_id: k for group in ours.values() for k in group}
        for removal in removals:
            if by_thumbprint[removal.thumbprint].valid(now) and by_key_id[removal.key_id].valid(now):
                skipped.append(
                    Skip(
                        "remove",
                        "the last valid key of this certificate on the application",
                        key_id=removal.key_id,
                        version=removal.version,
                        thumbprint=removal.thumbprint,
                    )
                )
            else:
                kept.append(removal)
        removals = kept

    rows = tuple(
        VersionRow(
            version=v,
            state=_state(v, successor, now),
            key_ids=tuple(k.key_id for k in ours.get(v.thumbprint, ())),
            in_use=v.version == in_use,
        )
        for v in _newest_first(versions)
    )
    ends = [
        min(m for m in (v.expires_on, k.end) if m is not None)
        for v in signers
        for k in ours.get(v.thumbprint, ())
        if k.valid(now) and (v.expires_on is not None or k.end is not None)
    ]
    return Plan(
        rows=rows,
        successor=successor,
        add=add,
        signers=signers,
        remove=tuple(removals),
        skipped=tuple(skipped),
        blocked=blocked,
        no_valid_key_after=max(ends) if ends else None,
        foreign_key_ids=tuple(foreign),
    )
