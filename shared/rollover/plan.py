"""The rollover plan: a pure function from what Key Vault and Graph say now to what to change.

Rules (issue 7, SPEC "Certificate rollover"):

* the newest enabled, currently valid version (the *successor*) is added when no key credential
  carries its thumbprint; the proof comes from a registered, valid version — without one the plan
  is *blocked* and names the thumbprint to register by hand;
* only key credentials whose thumbprint is a version of this certificate are ever removed; extra
  registrations of one thumbprint go first (the valid one registered longest — latest
  ``endDateTime`` — stays, the lowest ``keyId`` on a tie, so concurrent runs agree);
* a registered version is removed when it has expired, or when the successor has been registered
  for ``grace`` and a token was obtained with it (``successor_proven``). "Registered" counts from
  the registration's own record (``KeyCredential.registered_at``, the displayName our addKey set),
  never from the certificate's notBefore: a renewal registered late must still give other instances
  the whole grace period. A successor registered some other way (by hand, the postprovision hook)
  has no record, and the grace counts from its notBefore; one registered in this very run
  (``added``) never lets a removal happen in the same run, unless the grace is zero (then the
  token obtained with the successor right after its addKey is what allows the removal);
* never the version in use, never the successor, and never a valid key that would outlive every
  key left after the plan (the app must not be left with only keys that expire sooner);
* a version custody refused (``refused``: its key may exist outside the vault, custody.py) is never
  the successor: the newest version that custody accepts is, so the rest of the plan (expired and
  duplicate keys, a later renewal) goes on, and the refused version is named in ``skipped``. When
  no version is left to take over, the plan is blocked and ``refused`` names the newest refusal.

Nothing here performs I/O, so every rule is a parametrized unit test.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
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
    code: str | None = None  # set for a custody refusal: CertificateKeyNotVaultBound


REFUSED_CODE = "CertificateKeyNotVaultBound"


@dataclass(frozen=True)
class VersionRow:
    version: CertificateVersion
    state: str  # current | superseded | expired | disabled | not-yet-valid | newer | refused
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
    # Credentials of the app that are no version of this certificate (a certificate from elsewhere,
    # a client secret): never touched, always named (each is a way in that is not Key Vault's).
    foreign: tuple[KeyCredential, ...] = field(default=())
    # Versions custody refused (newest first) and why; never registered, never the successor.
    refusals: tuple[tuple[CertificateVersion, str], ...] = field(default=())
    # Blocked because no version custody accepts is left to take over: the newest refused one.
    refused: CertificateVersion | None = None

    @property
    def action_required(self) -> str | None:
        """What needs the operator: the blocking reason, else the refusals (the run went on)."""
        if self.blocked:
            return self.blocked
        return " ".join(reason for _, reason in self.refusals) or None

    @property
    def awaiting_proof_of_use(self) -> bool:
        return any(r.needs_proof_of_use for r in self.remove)


def _iso(moment: datetime | None) -> str:
    return moment.isoformat().replace("+00:00", "Z") if moment else "unknown"


def _timestamp(moment: datetime | None) -> float:
    """For ordering ends: no end is the latest of all."""
    return float("inf") if moment is None else moment.timestamp()


def _registered_since(successor: CertificateVersion, keys: Iterable[KeyCredential], now: datetime) -> datetime:
    """Since when the successor is registered: the earliest record among its valid registrations
    (never before it became valid), else — registered without a record — its notBefore. A record
    after ``now`` is not believed (anyone who can addKey writes the displayName it is read from;
    believed, year 9999 would overflow and a next-year date would hold the grace open for good)."""
    records = [k.registered_at for k in keys if k.valid(now) and k.registered_at is not None and k.registered_at <= now]
    if not records:
        return successor.available_since
    return max(min(m for m in records if m is not None), successor.available_since)


def _newest_first(versions: Iterable[CertificateVersion]) -> list[CertificateVersion]:
    return sorted(versions, key=lambda v: v.age_key, reverse=True)


def _state(
    version: CertificateVersion, successor: CertificateVersion | None, now: datetime, refused: Mapping[str, str]
) -> str:
    if successor is not None and version.version == successor.version:
        return "current"
    if version.version in refused:
        return "refused"
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
    added: frozenset[str] = frozenset(),
    refused: Mapping[str, str] | None = None,
) -> Plan:
    refused = refused or {}
    by_thumbprint = {v.thumbprint: v for v in versions}
    ours: dict[str, list[KeyCredential]] = {}
    foreign: list[KeyCredential] = []
    skipped: list[Skip] = []
    for key in keys:
        if key.verify_certificate and key.thumbprint in by_thumbprint:
            ours.setdefault(key.thumbprint, []).append(key)
        else:
            foreign.append(key)
            skipped.append(
                Skip(
                    "remove",
                    f"not a version of certificate '{certificate_name}': left alone",
                    key_id=key.key_id,
                    thumbprint=key.thumbprint,
                )
            )
    for group in ours.values():
        # The registration that stays: a valid one first, then the one that lasts longest, then the
        # lowest keyId (concurrent runs agree).
        group.sort(key=lambda k: (not k.valid(now), -_timestamp(k.end), k.key_id))

    def registered_valid(version: CertificateVersion) -> bool:
        return version.valid(now) and any(k.valid(now) for k in ours.get(version.thumbprint, ()))

    refusals = tuple((v, refused[v.version]) for v in _newest_first(versions) if v.version in refused)
    for version, reason in refusals:
        skipped.append(Skip("add", reason, version=version.version, thumbprint=version.thumbprint, code=REFUSED_CODE))
    valid = _newest_first(v for v in versions if v.valid(now) and v.version not in refused)
    successor = valid[0] if valid else None
    signers = tuple(v for v in valid if registered_valid(v))

    add: CertificateVersion | None = None
    blocked: str | None = None
    newest_refused: CertificateVersion | None = None
    if successor is None and any(v.valid(now) for v, _ in refusals):
        newest_refused, blocked = next((v, r) for v, r in refusals if v.valid(now))
    elif successor is None:
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
        if (successor.version in added or add is not None) and grace > timedelta(0):
            skip(
                f"its successor, version {successor.version}, is registered in this run: "
                f"the grace period of {grace.days} days starts now"
            )
            continue
        since = _registered_since(successor, ours.get(successor.thumbprint, ()), now)
        grace_ends = since + grace
        if now < grace_ends:
            skip(
                f"superseded by version {successor.version}, registered since {_iso(since)}; "
                f"the grace period ends {_iso(grace_ends)}"
            )
            continue
        removals.append(
            Removal(
                keep.key_id,
                version.version,
                thumbprint,
                f"superseded by version {successor.version}, registered since {_iso(since)}, "
                f"and the grace period of {grace.days} days has passed",
                # A successor added by this plan is proven only by a token obtained after the add.
                needs_proof_of_use=not successor_proven or add is not None,
            )
        )

    # Never leave the app with only keys that end sooner than one being removed, whatever the rules
    # above said: a valid key goes only while another key that stays lasts at least as long.
    by_key_id = {k.key_id: k for group in ours.values() for k in group}

    def ends(key: KeyCredential, version: CertificateVersion) -> datetime | None:
        """When this registration stops working: the earlier of the certificate's and the key's end."""
        return min((m for m in (version.expires_on, key.end) if m is not None), default=None)

    def usable(key: KeyCredential) -> bool:
        return key.valid(now) and by_thumbprint[key.thumbprint or ""].valid(now)

    staying = {k.key_id for k in by_key_id.values() if usable(k)}
    staying -= {r.key_id for r in removals}
    horizon = [ends(by_key_id[i], by_thumbprint[by_key_id[i].thumbprint or ""]) for i in staying]
    if add is not None:
        horizon.append(add.expires_on)
    kept: list[Removal] = []
    # The longest-lived candidates are judged first, so a shorter duplicate still goes.
    for removal in sorted(removals, key=lambda r: -_timestamp(ends(by_key_id[r.key_id], by_thumbprint[r.thumbprint]))):
        key = by_key_id[removal.key_id]
        end = ends(key, by_thumbprint[removal.thumbprint])
        if usable(key) and _timestamp(end) > max(map(_timestamp, horizon), default=float("-inf")):
            skipped.append(
                Skip(
                    "remove",
                    "the last valid key of this certificate on the application"
                    if not horizon
                    else f"valid until {_iso(end)}, later than every key that would remain",
                    key_id=removal.key_id,
                    version=removal.version,
                    thumbprint=removal.thumbprint,
                )
            )
            horizon.append(end)
        else:
            kept.append(removal)
    removals = [r for r in removals if r in kept]
    # noValidKeyAfter: when the last key left after this plan (removals done, the add made) ends.
    removed_ids = {r.key_id for r in removals}
    last = [
        ends(k, by_thumbprint[k.thumbprint or ""])
        for k in by_key_id.values()
        if usable(k) and k.key_id not in removed_ids
    ]
    if add is not None:
        last.append(add.expires_on)
    no_valid_key_after = None if not last or None in last else max(m for m in last if m is not None)

    rows = tuple(
        VersionRow(
            version=v,
            state=_state(v, successor, now, refused),
            key_ids=tuple(k.key_id for k in ours.get(v.thumbprint, ())),
            in_use=v.version == in_use,
        )
        for v in _newest_first(versions)
    )
    return Plan(
        rows=rows,
        successor=successor,
        add=add,
        signers=signers,
        remove=tuple(removals),
        skipped=tuple(skipped),
        blocked=blocked,
        no_valid_key_after=no_valid_key_after,
        foreign_key_ids=tuple(k.key_id for k in foreign),
        foreign=tuple(foreign),
        refusals=refusals,
        refused=newest_refused,
    )
