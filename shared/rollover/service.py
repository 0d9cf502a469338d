"""The reconciliation: read, plan, act, and report — the same for the route, the timer and Event Grid.

Safe to repeat and to run concurrently (timer on one instance, Event Grid on another):

* keyCredentials are re-read right before ``addKey``, and after it: if two runs both added the
  version, the extra registrations are removed, keeping the lowest ``keyId`` (both runs agree);
* a failed Graph write is checked against a fresh read: a key that did arrive (or is already gone)
  counts as done, so a lost response or a concurrent run never turns into a failure;
* a superseded, still valid key is removed only after this run obtained an Entra token with an
  assertion signed by its successor — proof that works across instances, unlike a process flag;
* every step re-plans from what Graph says now, so a crash between any two steps converges on
  the next run.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from ..credential_chain import CertificateInfo
from ..errors import Conflict, ProblemError, Upstream, UpstreamFailed
from ..telemetry import count_rollover_run
from .application_keys import APPLICATION_WRITE_PERMISSIONS, ApplicationKeys
from .custody import CustodyFacts, KeyCustody
from .model import CertificateVersion, KeyCredential, registration_name
from .plan import Plan, Removal, Skip, plan_rollover
from .versions import CertificateVersions

_LOGGER = logging.getLogger("shared.rollover")


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass
class _Outcome:
    added: list[dict[str, Any]]
    removed: list[dict[str, Any]]
    skipped: list[Skip]
    successor_token: bool | None = None  # None: not tried in this run


class RolloverService:
    def __init__(
        self,
        *,
        versions: CertificateVersions,
        keys: ApplicationKeys,
        custody: KeyCustody,
        proof: Callable[[CertificateInfo], str],
        prove_token: Callable[[CertificateInfo], bool],
        accept: Callable[[CertificateInfo], None],
        forget_rejection: Callable[[CertificateInfo], None],
        in_use: Callable[[], str | None],
        grace_days: int,
        graph_roles: Callable[[], Sequence[str]] = tuple,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """``prove_token``: get an Entra token with an assertion signed by that version; False when Entra
        does not accept it yet (AADSTS700027). ``accept``: tell the token chain that version works;
        ``forget_rejection``: it was just registered, so an earlier AADSTS700027 for it is stale."""
        self._versions = versions
        self._keys = keys
        self._custody = custody
        # Per run: what Key Vault said about each version's custody (custody.py).
        self._custody_facts: dict[str, CustodyFacts] = {}
        self._proof = proof
        self._prove_token = prove_token
        self._accept = accept
        self._forget_rejection = forget_rejection
        self._in_use = in_use
        self._graph_roles = graph_roles
        self._grace = timedelta(days=grace_days)
        self._clock = clock
        self._lock = threading.Lock()
        self.last_run: dict[str, Any] | None = None
        self._last_view: dict[str, Any] | None = None

    # ------------------------------------------------------------------ reading
    def _plan(
        self,
        versions: Sequence[CertificateVersion],
        keys: Sequence[KeyCredential],
        *,
        proven: bool = False,
        added: frozenset[str] = frozenset(),
    ) -> Plan:
        # Every plan that relies on the successor (adding it, or retiring what it supersedes) first
        # checks that its key can only be in the vault (custody.py). A refused successor is set
        # aside and the plan made again with the newest version custody accepts, so one refused
        # version never stops the rest (a later renewal, expired keys); it is named in the report.
        refused: dict[str, str] = {}
        while True:
            plan = plan_rollover(
                versions,
                keys,
                now=self._clock(),
                grace=self._grace,
                in_use=self._in_use(),
                successor_proven=proven,
                certificate_name=self._versions.name,
                added=added,
                refused=refused,
            )
            successor = plan.successor
            if successor is None:
                return plan
            registering = successor not in plan.signers  # to be added, or to be registered by hand
            if successor.version not in self._custody_facts:  # read once per run
                self._custody_facts[successor.version] = self._custody.facts(successor)
            facts = self._custody_facts[successor.version]
            refusal = self._custody.refusal(successor, registering=registering, facts=facts)
            if refusal is None:
                return plan
            refused[successor.version] = refusal

    def status(self, *, live: bool) -> dict[str, Any]:
        """The registration state for /api/diagnostics: as the last run on this instance saw it, or
        read now (``live``: one Key Vault list and one Graph read; changes nothing)."""
        if live:
            self._custody_facts = {}
            self._remember(
                self._report(self._plan(self._versions.list(), self._keys.read()), dry_run=True, outcome=None)
            )
        view = self._last_view
        if view is None:
            return {
                "asOf": None,
                "detail": "No rollover has run on this instance yet; add ?registration=true to read it now.",
                "lastRun": self.last_run,
            }
        return {**view, "lastRun": self.last_run}

    def _remember(self, report: dict[str, Any]) -> None:
        self._last_view = {
            "asOf": iso(self._clock()),
            "applicationObjectId": self._keys.object_id,
            "versions": report["versions"],
            "noValidKeyAfter": report["noValidKeyAfter"],
            "refused": report["refused"],
            "excessGraphPermissions": report["excessGraphPermissions"],
            "foreignCredentials": report["foreignCredentials"],
            "actionRequired": report["blocked"],
        }

    # ------------------------------------------------------------------ the run
    def run(self, *, dry_run: bool, trigger: str) -> dict[str, Any]:
        """One run; a real one (not a dry run) is counted in ``broker.rollover.runs`` by outcome."""
        if dry_run:
            return self._run(dry_run=True, trigger=trigger)
        source = trigger.split(" ", 1)[0]  # "timer (past due)" counts as timer
        previous = self.last_run
        try:
            report = self._run(dry_run=False, trigger=trigger)
        except Exception:
            # This run got as far as a plan that needs an operator (last_run is replaced then).
            blocked = self.last_run is not previous and bool(self.last_run and self.last_run.get("blocked"))
            count_rollover_run(outcome="blocked" if blocked else "failure", trigger=source)
            raise
        # A refused version needs an operator (disable it) even though the run went on: "blocked".
        needs_operator = report["refused"] or report["excessGraphPermissions"] or report["foreignCredentials"]
        count_rollover_run(outcome="blocked" if needs_operator else "success", trigger=source)
        return report

    def _run(self, *, dry_run: bool, trigger: str) -> dict[str, Any]:
        started = time.monotonic()
        self._custody_facts = {}
        if dry_run:
            report = self._report(self._plan(self._versions.list(), self._keys.read()), dry_run=True, outcome=None)
            self._log(report, trigger, started)
            return report
        # One run per process at a time; concurrent runs on other instances are handled by
        # re-reading before and after every write (see the module docstring).
        with self._lock:
            outcome = _Outcome(added=[], removed=[], skipped=[])
            try:
                versions = self._versions.list()
                plan = self._execute(versions, self._plan(versions, self._keys.read()), outcome)
            except ProblemError as error:
                self.last_run = {
                    "at": iso(self._clock()),
                    "trigger": trigger,
                    "failed": {"status": error.status, "upstream": _text(error.upstream), "code": error.code},
                    "added": len(outcome.added),
                    "removed": len(outcome.removed),
                }
                raise
            self.last_run = {
                "at": iso(self._clock()),
                "trigger": trigger,
                "added": len(outcome.added),
                "removed": len(outcome.removed),
                "refused": [v.version for v, _ in plan.refusals],
                "blocked": plan.action_required,
            }
        report = self._report(plan, dry_run=False, outcome=outcome)
        self._log(report, trigger, started)
        for version, reason in plan.refusals:
            # ERROR and starting "rollover": the rollover alert fires (infra/app/alerts.bicep), as the
            # CertificateImport alert says ("The rollover refuses to register imported versions").
            _LOGGER.error(
                "rollover refused to register certificate %s version %s (thumbprint %s): %s",
                self._versions.name,
                version.version,
                version.thumbprint,
                reason,
                extra={"rollover_refused": True},
            )
        if report["excessGraphPermissions"]:
            _LOGGER.error("rollover: %s", _excess_text(report["excessGraphPermissions"]))
        if report["foreignCredentials"]:
            # ERROR and starting "rollover": the rollover alert fires. Someone holding keys/sign can
            # addKey a certificate of their own (Graph needs only a proof signed by a registered key,
            # which Key Vault makes for them): this line is the deployment's own sign of it.
            _LOGGER.error(
                "rollover: %s",
                _foreign_text(self._versions.name, report["foreignCredentials"]),
                extra={"rollover_foreign_credentials": [c["keyId"] for c in report["foreignCredentials"]]},
            )
        if plan.blocked:
            _LOGGER.error("rollover blocked: %s", plan.blocked, extra={"rollover_blocked": True})
            # The caller reads what to do with which version; the certificate's name is the operator's.
            detail = self._for_caller(plan.blocked)
            if plan.refused is not None:
                # 409, not 502: Key Vault answered correctly; the vault's state conflicts with what the
                # rollover may register, and only the operator can change it (a retry never will).
                raise Conflict(
                    detail,
                    upstream=Upstream.KEYVAULT,
                    code="CertificateKeyNotVaultBound",
                    extensions={"thumbprint": plan.refused.thumbprint, "version": plan.refused.version},
                    log_hint=plan.blocked,
                )
            successor = plan.successor
            error = UpstreamFailed(
                detail,
                upstream=Upstream.GRAPH if successor is not None else Upstream.KEYVAULT,
                code="CertificateNotRegistered" if successor is not None else "CertificateNotUsable",
                log_hint=plan.blocked,
            )
            if successor is not None:  # what the operator registers by hand
                error.extensions.update({"thumbprint": successor.thumbprint, "version": successor.version})
            raise error
        return report

    def _for_caller(self, text: str) -> str:
        """``text`` without the certificate's name (a deployment identifier): "the signing certificate"."""
        name = self._versions.name
        for named, generic in (
            (f"Certificate '{name}'", "The signing certificate"),
            (f"certificate '{name}'", "the signing certificate"),
        ):
            text = text.replace(named, generic)
        # Only the name as a whole word: a certificate called "cert" must not garble "certificate".
        return re.sub(rf"(?<![\w-]){re.escape(name)}(?![\w-])", "<KEY_VAULT_CERTIFICATE_NAME>", text)

    def _execute(self, versions: list[CertificateVersion], plan: Plan, outcome: _Outcome) -> Plan:
        proofs: dict[str, str] = {}
        infos: dict[str, CertificateInfo] = {}
        added_now: set[str] = set()

        def info(version: CertificateVersion) -> CertificateInfo:
            if version.version not in infos:
                infos[version.version] = self._versions.certificate(version.version)
            return infos[version.version]

        def proof_by(plan: Plan, *, excluding: set[str]) -> CertificateInfo | None:
            # A registered, valid version not being removed; an older one first, as Graph may take a
            # moment to honour a key added seconds ago.
            candidates = [v for v in plan.signers if v.version not in excluding]
            candidates.sort(key=lambda v: v.version in added_now)
            return info(candidates[0]) if candidates else None

        def proof(signer: CertificateInfo) -> str:
            if signer.version not in proofs:  # one proof per signer per run (valid for 10 minutes)
                proofs[signer.version] = self._proof(signer)
            return proofs[signer.version]

        keys: list[KeyCredential] | None = None
        if plan.add is not None:
            planned = plan.add
            keys = self._keys.read()  # a concurrent run may have added it meanwhile
            plan = self._plan(versions, keys)
            if plan.add is None:
                outcome.skipped.append(
                    Skip(
                        "add",
                        "already registered (by a concurrent run)",
                        version=planned.version,
                        thumbprint=planned.thumbprint,
                    )
                )
            else:
                signer = proof_by(plan, excluding=set())
                new = info(plan.add)
                assert signer is not None  # the plan adds only when a signer exists
                if new.thumbprint_hex != plan.add.thumbprint:
                    # Custody judged the version as listed; what is registered must be that certificate
                    # (else every run would add a key no version accounts for).
                    mismatch = (
                        f"Key Vault answered certificate '{new.name}' version {new.version} with a certificate whose "
                        f"thumbprint ({new.thumbprint_hex}) is not the one it lists ({plan.add.thumbprint}); "
                        "nothing was registered."
                    )
                    raise UpstreamFailed(self._for_caller(mismatch), upstream=Upstream.KEYVAULT, log_hint=mismatch)
                name = registration_name(self._clock())
                key_id = self._write(
                    lambda: self._keys.add(new.der, proof(signer), display_name=name), lambda ks: _has(ks, new)
                )
                added_now.add(new.version)
                self._forget_rejection(new)  # the next token may be signed by it: no restart needed
                outcome.added.append(
                    {
                        "version": new.version,
                        "thumbprint": new.thumbprint_hex,
                        "keyId": key_id,
                        "proofSignedBy": signer.version,
                    }
                )
                _LOGGER.warning(
                    "rollover registered certificate %s version %s (thumbprint %s) as key %s; proof by version %s",
                    new.name,
                    new.version,
                    new.thumbprint_hex,
                    key_id,
                    signer.version,
                )
                # Re-read: a concurrent run may have added it too; the plan then removes the extra key.
                keys = self._keys.read()
                plan = self._plan(versions, keys, added=frozenset(added_now))

        successor_version = plan.successor
        if (added_now or plan.awaiting_proof_of_use) and successor_version in plan.signers:
            # A token with an assertion signed by the newest version: Entra accepts it (so the older
            # keys may go), and this instance signs with it from now on.
            assert successor_version is not None
            successor = info(successor_version)
            outcome.successor_token = self._prove_token(successor)
            if outcome.successor_token:
                self._accept(successor)
                plan = self._plan(
                    versions, keys if keys is not None else self._keys.read(), proven=True, added=frozenset(added_now)
                )
            else:
                waiting = [r for r in plan.remove if r.needs_proof_of_use]
                for removal in waiting:
                    outcome.skipped.append(
                        _skip(
                            removal,
                            f"Entra does not accept version {successor.version} yet (AADSTS700027); "
                            "retried on the next run",
                        )
                    )
                plan = _without(plan, waiting)

        removing = {r.version for r in plan.remove if not r.duplicate}
        for removal in plan.remove:
            if removal.needs_proof_of_use:
                continue
            signer = proof_by(plan, excluding=removing)
            if signer is None:
                outcome.skipped.append(_skip(removal, "no registered, valid version left to sign the proof"))
                continue
            self._write(
                lambda r=removal, s=signer: self._keys.remove(r.key_id, proof(s)),
                lambda ks, r=removal: all(k.key_id != r.key_id for k in ks),
            )
            outcome.removed.append(
                {
                    "keyId": removal.key_id,
                    "version": removal.version,
                    "thumbprint": removal.thumbprint,
                    "reason": removal.reason,
                    "proofSignedBy": signer.version,
                }
            )
            _LOGGER.warning(
                "rollover removed key %s (certificate version %s, thumbprint %s): %s",
                removal.key_id,
                removal.version,
                removal.thumbprint,
                removal.reason,
            )
        if outcome.added or outcome.removed:
            plan = self._plan(
                versions, self._keys.read(), proven=bool(outcome.successor_token), added=frozenset(added_now)
            )
        return plan

    def _write(self, call: Callable[[], Any], done: Callable[[list[KeyCredential]], bool]) -> Any:
        """A Graph write; when it fails, a fresh read decides whether it took effect anyway."""
        try:
            return call()
        except ProblemError as error:
            try:
                if done(self._keys.read()):
                    _LOGGER.info("rollover: Graph write failed (%s) but took effect; continuing", error.status)
                    return None
            except ProblemError:
                pass
            raise

    # ------------------------------------------------------------------ reporting
    def _report(self, plan: Plan, *, dry_run: bool, outcome: _Outcome | None) -> dict[str, Any]:
        now = self._clock()
        # The Graph token the run just used (cached: no extra Entra call) says what the app holds.
        try:
            excess = sorted(APPLICATION_WRITE_PERMISSIONS & set(self._graph_roles()))
        except ProblemError:
            excess = []  # no token to read just now: nothing to say, the next run tells
        versions = []
        for row in plan.rows:
            v = row.version
            days = int((v.expires_on - now).total_seconds() // 86400) if v.expires_on else None
            versions.append(
                {
                    "version": v.version,
                    "thumbprint": v.thumbprint,
                    "state": row.state,
                    "enabled": v.enabled,
                    "notBefore": iso(v.not_before),
                    "expiresOn": iso(v.expires_on),
                    "daysToExpiry": days,
                    "registered": bool(row.key_ids),
                    "keyIds": list(row.key_ids),
                    "inUse": row.in_use,
                }
            )
        skipped = [*(outcome.skipped if outcome else []), *plan.skipped]
        planned_add = [] if plan.add is None else [{"version": plan.add.version, "thumbprint": plan.add.thumbprint}]
        foreign = [
            {
                k: v
                for k, v in {
                    "keyId": c.key_id,
                    "type": c.credential_type,
                    "thumbprint": c.thumbprint,
                    "displayName": c.display_name,
                    "endDateTime": iso(c.end),
                }.items()
                if v is not None
            }
            for c in plan.foreign
        ]
        return {
            "dryRun": dry_run,
            "certificate": self._versions.name,
            "applicationObjectId": self._keys.object_id,
            "graceDays": self._grace.days,
            "versions": versions,
            "plan": {
                "add": planned_add,
                "remove": [
                    {
                        "keyId": r.key_id,
                        "version": r.version,
                        "thumbprint": r.thumbprint,
                        "reason": r.reason,
                        "afterTokenWithSuccessor": r.needs_proof_of_use,
                    }
                    for r in plan.remove
                ],
            },
            "successorToken": None
            if outcome is None or outcome.successor_token is None or plan.successor is None
            else {"version": plan.successor.version, "obtained": outcome.successor_token},
            "added": outcome.added if outcome else [],
            "removed": outcome.removed if outcome else [],
            "skipped": [_camel(vars(s)) for s in _unique(skipped)],
            "refused": [{"version": v.version, "thumbprint": v.thumbprint, "reason": r} for v, r in plan.refusals],
            "excessGraphPermissions": excess,
            "foreignCredentials": foreign,
            "blocked": " ".join(
                filter(None, (plan.action_required, _excess_text(excess), _foreign_text(self._versions.name, foreign)))
            )
            or None,
            "noValidKeyAfter": iso(plan.no_valid_key_after),
        }

    def _log(self, report: dict[str, Any], trigger: str, started: float) -> None:
        self._remember(report)
        _LOGGER.info(
            "rollover trigger=%s dry_run=%s versions=%d added=%d removed=%d skipped=%d refused=%s blocked=%s "
            "duration_ms=%.0f",
            trigger,
            report["dryRun"],
            len(report["versions"]),
            len(report["added"]),
            len(report["removed"]),
            len(report["skipped"]),
            ",".join(r["version"] for r in report["refused"]) or "none",
            bool(report["blocked"]),
            (time.monotonic() - started) * 1000,
            extra={
                "rollover_trigger": trigger,
                "rollover_added": [a["thumbprint"] for a in report["added"]],
                "rollover_removed": [r["thumbprint"] for r in report["removed"]],
            },
        )


def _excess_text(permissions: Sequence[str]) -> str | None:
    if not permissions:
        return None
    return (
        f"The app registration holds the Microsoft Graph permission(s) {', '.join(permissions)}, which write "
        "applications: its own token can add a password or a federated identity credential, a credential outside "
        "Key Vault. The rollover needs only Application.Read.All; remove the others and any ownership of the app by "
        "its own service principal (docs/custody.md, 'Upgrading a deployment made before this change')."
    )


def _foreign_text(certificate: str, credentials: Sequence[dict[str, Any]]) -> str | None:
    if not credentials:
        return None
    named = ", ".join(f"{c['keyId']} ({c.get('type') or 'unknown type'})" for c in credentials)
    return (
        f"The app registration holds credential(s) that are not a version of certificate '{certificate}' in Key "
        f"Vault: {named}. Each is a way to sign in as the app whose secret or private key is not bound to the vault; "
        "the rollover never touches them. If you did not add one, treat it as a compromise (Entra audit log of the "
        "application; anyone with keys/sign on the vault can add a certificate with addKey) and remove it "
        "(az ad app credential delete --id <client id> --key-id <keyId>)."
    )


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _has(keys: list[KeyCredential], certificate: CertificateInfo) -> bool:
    return any(k.thumbprint == certificate.thumbprint_hex for k in keys)


def _camel(fields: dict[str, Any]) -> dict[str, Any]:
    names = {"key_id": "keyId"}
    return {names.get(k, k): v for k, v in fields.items() if v is not None}


def _skip(removal: Removal, reason: str) -> Skip:
    return Skip("remove", reason, key_id=removal.key_id, version=removal.version, thumbprint=removal.thumbprint)


def _without(plan: Plan, removals: list[Removal]) -> Plan:
    return replace(plan, remove=tuple(r for r in plan.remove if r not in removals))


def _unique(skips: list[Skip]) -> list[Skip]:
    seen: set[tuple[Any, ...]] = set()
    out = []
    for s in skips:
        key = (s.action, s.key_id, s.version, s.reason, s.code)
        if key not in seen:
            seen.add(key)
            out.append(s)
    return out
