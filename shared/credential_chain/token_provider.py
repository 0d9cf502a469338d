"""Access tokens per scope from one azure-identity credential, one refresh at a time.

azure-identity caches tokens and refreshes them; this layer adds what it lacks:

* single-flight: concurrent callers that find no fresh token wait for the one fetch already in
  flight for that scope and share its outcome — 32 cold threads cost one Key Vault ``sign`` and
  one token request, and a failure is not repeated by each waiter in turn;
* a lock-free hot path: the last token per scope is reused until its refresh time (SPEC: at
  least 5 minutes before expiry, halfway through for tokens shorter than 10 minutes, or the
  token's own ``refresh_on``), so a valid token costs no call at all;
* ``invalidate`` for a token a resource rejected (revoked, CAE): the next fetch passes claims,
  which makes the library skip its cache;
* the AADSTS700027 certificate fallback (see ``certificate_selector``);
* an assertion Entra refuses is discarded (``ClientAssertion`` reuses one across scopes), so the
  next attempt is signed anew from a fresh read of the certificate;
* ``refusal``: a hook that rewrites Entra's refusal for the tenant this provider serves (a customer
  tenant's missing consent, ``tenants``).
"""

from __future__ import annotations

import base64
import binascii
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import nullcontext
from typing import Any

from azure.core.credentials import AccessTokenInfo, TokenRequestOptions
from azure.core.exceptions import AzureError, ClientAuthenticationError

from ..errors import ProblemError, Upstream, UpstreamFailed, UpstreamTimeout
from ..telemetry import count_token_acquisition, count_token_cache, token_fetch_span
from ..upstream import from_azure_error, remaining
from .assertion import ClientAssertion, SignedWith
from .certificate_selector import NOT_REGISTERED, CertificateSelector

REFRESH_MARGIN_SECONDS = 300
# The CAE client capability: a valid claims request that every token endpoint accepts, used to
# make the library fetch a new token when the resource gave no claims challenge of its own.
_BYPASS_CACHE_CLAIMS = '{"access_token":{"xms_cc":{"values":["CP1"]}}}'
_MAX_CERTIFICATE_FALLBACKS = 5
# Entra's answers when the app is not consented in (has no service principal in) the tenant asked
# (AZURE-PROTOCOLS §13), and AADSTS90002 for a tenant that does not exist. They judge the tenant, not
# the assertion: it stays in use, so a refused tenant costs one Entra call per request and never a
# certificate read and a Key Vault ``sign`` (which the home tenant's tokens share).
CONSENT_CODES = frozenset({"AADSTS7000229", "AADSTS700016", "AADSTS650052"})
_NOT_THE_ASSERTION = CONSENT_CODES | {"AADSTS90002"}

_ENTRA_HINTS: dict[str, str] = {
    "AADSTS700016": "The app registration was not found in the tenant: check ENTRA_CLIENT_ID and ENTRA_TENANT_ID.",
    "AADSTS90002": "The tenant was not found: check ENTRA_TENANT_ID and AZURE_AUTHORITY_HOST.",
    "AADSTS700024": "The assertion's time window was rejected: check the host clock.",
    "AADSTS500011": "The resource is not registered in the tenant: check ARM_ENDPOINT / GRAPH_ENDPOINT.",
    "AADSTS70011": "The scope was rejected: check ARM_ENDPOINT / GRAPH_ENDPOINT.",
    "AADSTS7000215": "Entra expected a different credential for this app.",
    "AADSTS70021": "No federated identity credential on the app registration matches the managed identity: "
    "add one with issuer {authority}/{tenant}/v2.0, subject = the identity's principal ID and audience "
    "api://AzureADTokenExchange.",
    "AADSTS700213": "No federated identity credential on the app registration matches the managed identity's "
    "subject (its principal ID; matching is case-sensitive).",
    "AADSTS700211": "No federated identity credential on the app registration matches the managed identity's issuer.",
    "AADSTS700212": "No federated identity credential on the app registration has the audience "
    "api://AzureADTokenExchange.",
    "AADSTS7002137": "No federated identity credential on the app registration matches the managed identity.",
}


def _refresh_at(token: AccessTokenInfo, obtained_at: float) -> float:
    lifetime = max(token.expires_on - obtained_at, 0)
    margin = min(REFRESH_MARGIN_SECONDS, lifetime / 2)
    refresh_at = token.expires_on - margin
    if token.refresh_on:
        refresh_at = min(refresh_at, token.refresh_on)
    return refresh_at


def claims_from_challenge(www_authenticate: str | None) -> str | None:
    """The decoded ``claims`` of a CAE challenge (``Bearer ..., claims="<base64>"``), if any."""
    if not www_authenticate or "claims=" not in www_authenticate:
        return None
    value = www_authenticate.split("claims=", 1)[1].split(",", 1)[0].strip().strip('"')
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def entra_error(exc: ClientAuthenticationError, *, target: str | None = None) -> ProblemError:
    """Entra's refusal as a problem; ``target`` (the app registration and tenant) is for the operator only."""
    mapped = from_azure_error(exc, Upstream.ENTRA, action="the token request", target=target)
    if isinstance(mapped, UpstreamFailed) and mapped.code in _ENTRA_HINTS:
        hint = _ENTRA_HINTS[mapped.code]
        mapped = UpstreamFailed(
            f"{mapped.detail} {hint}",
            upstream=Upstream.ENTRA,
            code=mapped.code,
            upstream_status=mapped.extensions.get("upstreamStatus"),
            log_hint=f"{mapped.log_hint} {hint}" if mapped.log_hint else None,
        )
    return mapped


class TokenProvider:
    def __init__(
        self,
        credential: Any,
        *,
        assertion: ClientAssertion | None = None,
        selector: CertificateSelector | None = None,
        refusal: Callable[[ProblemError], ProblemError] | None = None,
        clock: Callable[[], float] = time.time,
        target: str | None = None,
    ) -> None:
        """``target``: who asks for the tokens (app registration, tenant), named only in operators' hints."""
        self._credential = credential
        self._refusal = refusal
        self._target = target
        self._assertion = assertion
        self._selector = selector
        self._clock = clock
        self._latest: dict[str, tuple[AccessTokenInfo, float]] = {}
        self._bypass_cache: dict[str, str] = {}
        self._in_flight: dict[str, Future[AccessTokenInfo]] = {}
        self._guard = threading.Lock()

    def _fresh(self, scope: str) -> AccessTokenInfo | None:
        entry = self._latest.get(scope)
        if entry is not None and self._clock() < entry[1]:
            return entry[0]
        return None

    def get(self, scope: str) -> AccessTokenInfo:
        token = self._fresh(scope)
        if token is not None:
            count_token_cache(scope, hit=True)
            return token
        with self._guard:
            token = self._fresh(scope)  # refreshed while we took the guard
            if token is not None:
                count_token_cache(scope, hit=True)
                return token
            flight = self._in_flight.get(scope)
            leader = flight is None
            if flight is None:
                flight = self._in_flight[scope] = Future()
        count_token_cache(scope, hit=not leader, source="in_flight")
        if not leader:
            # Share the leader's outcome, success or failure, instead of repeating the chain;
            # nothing is kept once this round is over, so a failure is never cached.
            try:
                return flight.result(timeout=remaining())
            except FutureTimeout:
                raise UpstreamTimeout(
                    "Timed out waiting for a token refresh in progress.", upstream=Upstream.ENTRA
                ) from None
        try:
            obtained_at = self._clock()
            with token_fetch_span(scope):
                token = self._acquire(scope, self._bypass_cache.get(scope))
            self._bypass_cache.pop(scope, None)
            self._latest[scope] = (token, _refresh_at(token, obtained_at))
            flight.set_result(token)
            count_token_acquisition(scope, outcome="success")
            return token
        except BaseException as exc:
            flight.set_exception(exc)
            count_token_acquisition(scope, outcome="failure", code=getattr(exc, "code", None))
            raise
        finally:
            with self._guard:
                self._in_flight.pop(scope, None)

    def invalidate(self, scope: str, rejected_token: str, *, claims: str | None = None) -> None:
        """A resource rejected ``rejected_token``: forget it and make the next fetch skip the cache."""
        with self._guard:
            entry = self._latest.get(scope)
            if entry is not None and entry[0].token != rejected_token:
                return  # already replaced by a concurrent caller
            self._latest.pop(scope, None)
            self._bypass_cache[scope] = claims or _BYPASS_CACHE_CLAIMS

    def _acquire(self, scope: str, claims: str | None) -> AccessTokenInfo:
        options: TokenRequestOptions | None = {"claims": claims} if claims else None
        for _ in range(_MAX_CERTIFICATE_FALLBACKS + 1):
            signed = SignedWith()
            try:
                with self._assertion.recording() if self._assertion else nullcontext(signed) as signed:
                    return self._credential.get_token_info(scope, options=options)
            except ProblemError:
                raise
            except ClientAuthenticationError as exc:
                problem = entra_error(exc, target=self._target)
                if (
                    self._assertion is not None
                    and signed.assertion is not None
                    and isinstance(problem, UpstreamFailed)
                    and problem.code not in _NOT_THE_ASSERTION
                ):
                    # Refused (not throttled): never send this assertion again; the next one is built
                    # from a fresh certificate read.
                    self._assertion.discard(signed.assertion)
                # The version that signed THIS acquisition's assertion: never one signed by another
                # thread or an earlier acquisition (None: no assertion was signed, nothing to reject).
                rejected = signed.certificate
                if problem.code != NOT_REGISTERED or self._selector is None or rejected is None:
                    raise (self._refusal(problem) if self._refusal else problem) from None
                if self._selector.pinned:
                    raise self._selector.not_registered_error(rejected) from None
                self._selector.reject(rejected)
            except AzureError as exc:
                raise from_azure_error(exc, Upstream.ENTRA, action="the token request", target=self._target) from None
            except RecursionError:
                # azure-identity decodes Entra's answer with json, whose RecursionError (a body nested too
                # deep) is no AzureError: an upstream's answer is a 502, never a 500.
                raise UpstreamFailed(
                    "Entra answered the token request with a body that is not a token response.",
                    upstream=Upstream.ENTRA,
                ) from None
        raise UpstreamFailed(
            "Entra rejected every certificate version tried.", upstream=Upstream.ENTRA, code=NOT_REGISTERED
        )

    @property
    def selector(self) -> CertificateSelector | None:
        return self._selector
