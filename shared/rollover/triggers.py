"""The three ways in: the HTTP route's ``dryRun`` query, the timer, and Key Vault's Event Grid events.

Failure policy for the non-HTTP triggers (their caller is not a person):

* an event that is not for this vault and certificate, or not one of the two handled types, or
  malformed, is logged and dropped — raising would make Event Grid redeliver it for a day;
* a relevant event whose run is throttled or times out raises, so Event Grid redelivers it with
  backoff; any other failure (a missing permission, no registered valid key) is logged as an error
  and dropped: redelivery would not fix it, and the timer runs again anyway;
* a failed timer run is logged as an error and raised, so the invocation counts as failed and the
  platform's failure alerts see it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from ..errors import BadRequest, ProblemError, UpstreamThrottled, UpstreamTimeout
from ..problem_log import record as record_problem
from ..settings import ROLLOVER_SCHEDULE, CredentialMode, Settings
from ..upstream import request_deadline
from .events import judge_event

if TYPE_CHECKING:  # the service (and its Graph/Key Vault machinery) loads with the runtime's build
    from .service import RolloverService

_LOGGER = logging.getLogger("shared.rollover")
BOOLEAN_VALUES = {"true": True, "false": False}


class RolloverHost(Protocol):
    settings: Settings

    def require_rollover(self) -> RolloverService: ...


def parse_flag(value: str | None, name: str) -> bool:
    """A boolean query parameter: absent means false; only ``true`` / ``false`` (any case) are accepted."""
    if value is None:
        return False
    flag = BOOLEAN_VALUES.get(value.strip().lower())
    if flag is None:
        raise BadRequest(f"Query parameter '{name}' must be true or false.")
    return flag


def parse_dry_run(value: str | None) -> bool:
    """``dryRun`` of ``POST /api/rollover``; defaults to false (the run changes the registrations)."""
    return parse_flag(value, "dryRun")


# ``code`` is the function key as a query parameter: the Functions host consumes it, but the URL the
# worker sees still carries it.
_ROLLOVER_QUERY = frozenset({"dryRun", "code"})


# What clients send when they mean "no body" (e.g. requests' json={}, or a JSON null).
_NO_BODY = frozenset({b"", b"{}", b"null"})


def refuse_unexpected_input(url: str, body: bytes) -> None:
    """Refuses a ``POST /api/rollover`` carrying anything that might have meant another ``dryRun``.

    ``dryRun`` defaults to false (SPEC), so a misspelt ``dryrun=true`` / ``dry_run=true`` /
    ``dryRun%20=true`` that were ignored would perform a real rollover, removals included: every
    query parameter other than ``dryRun`` (exact case) and ``code`` is a 400, as is a repeated
    ``dryRun`` and any request body with content (the route takes none; a ``{"dryRun": true}`` body
    is refused rather than silently run for real; an empty JSON object is no content).
    """
    given = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    unknown = sorted({name for name, _ in given if name not in _ROLLOVER_QUERY})
    if unknown:
        hint = next((n for n in unknown if n.strip().replace("_", "").replace("-", "").lower() == "dryrun"), None)
        raise BadRequest(
            f"Unknown query parameter(s) {', '.join(repr(n) for n in unknown)}: POST /api/rollover accepts "
            "only 'dryRun' (true or false, default false)"
            + (
                f"; did you mean 'dryRun' instead of {hint!r}? Nothing was changed."
                if hint
                else "; nothing was changed."
            )
        )
    values = [value for name, value in given if name == "dryRun"]
    if len(values) > 1:
        raise BadRequest("Query parameter 'dryRun' is given more than once; nothing was changed.")
    if body.strip() not in _NO_BODY:
        raise BadRequest(
            "POST /api/rollover takes no request body (use the query parameter dryRun=true for a dry run); "
            "nothing was changed."
        )


def _problem_fields(error: ProblemError) -> dict[str, Any]:
    return {"status": error.status, "upstream": str(error.upstream) if error.upstream else None, "code": error.code}


def run_on_timer(host: RolloverHost, *, past_due: bool) -> None:
    settings = host.settings
    if settings.ok and settings.credential_mode is not CredentialMode.KEYVAULT:
        _LOGGER.info("rollover timer: nothing to roll in %s mode", settings.credential_mode)
        return
    schedule = [p for p in settings.rollover_problems if p.setting == ROLLOVER_SCHEDULE]
    if schedule:
        # The host loaded the timer with a schedule that fires too often (e.g. every second): each
        # invocation is dropped before any Key Vault or Graph call; the route and events still work.
        _LOGGER.error("rollover timer skipped: %s %s", ROLLOVER_SCHEDULE, schedule[0].reason)
        return
    try:
        with request_deadline():
            host.require_rollover().run(dry_run=False, trigger="timer" + (" (past due)" if past_due else ""))
    except ProblemError as error:
        _LOGGER.error("rollover timer failed: %s", error.operator_hint, extra=_problem_fields(error))
        record_problem("rollover_timer", error)
        raise


def _loggable(value: Any) -> str:
    """An event field for the log line: strings as sent (bounded), anything else by its JSON type."""
    return value[:200] if isinstance(value, str) else f"<{type(value).__name__}>"


def run_on_event(host: RolloverHost, *, event_id: Any, event_type: Any, subject: Any, data: Any) -> None:
    settings = host.settings
    where = f"id={_loggable(event_id)} type={_loggable(event_type)} subject={_loggable(subject)}"
    if settings.credential_mode is not CredentialMode.KEYVAULT:
        _LOGGER.info("rollover event ignored (%s): the function app has no certificate to roll", where)
        return
    if not settings.ok:
        # Redelivery would not fix the settings; /api/health names them, the timer retries daily.
        problems = ", ".join(dict.fromkeys(p.setting for p in settings.problems))
        _LOGGER.error("rollover event dropped (%s): the function app is misconfigured (%s)", where, problems)
        return
    assert settings.key_vault_url and settings.certificate_name
    try:
        verdict = judge_event(
            event_type=event_type,
            subject=subject,
            data=data if isinstance(data, Mapping) else None,
            vault_url=settings.key_vault_url,
            certificate_name=settings.certificate_name,
        )
    except Exception:  # a malformed event is dropped, never redelivered for a day
        _LOGGER.warning("rollover event dropped (%s): it could not be judged", where, exc_info=True)
        return
    if not verdict.relevant:
        _LOGGER.info("rollover event ignored (%s): %s", where, verdict.reason)
        return
    _LOGGER.info("rollover event accepted (%s): %s, version %s", where, verdict.reason, verdict.version)
    try:
        with request_deadline():
            host.require_rollover().run(dry_run=False, trigger="eventgrid")
    except (UpstreamThrottled, UpstreamTimeout) as error:
        _LOGGER.warning(
            "rollover event %s failed transiently; Event Grid redelivers it: %s", event_id, error.operator_hint
        )
        record_problem("rollover_event", error)
        raise
    except ProblemError as error:
        _LOGGER.error("rollover event %s failed: %s", event_id, error.operator_hint, extra=_problem_fields(error))
        record_problem("rollover_event", error)
