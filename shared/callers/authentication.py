"""Caller authorization: an Entra access token for ``CALLER_AUDIENCE`` carrying the route's app role.

Validation follows Microsoft's "Access tokens" / "Validate tokens" guidance: signature against
the tenant's JWKS (found through the OpenID metadata), an algorithm allow-list (Entra signs
access tokens with RS256), the tenant's v2.0 issuer — and in the public cloud the v1
``https://sts.windows.net/{tid}/`` issuer — the audience, ``exp``/``nbf`` with a small leeway,
and the tenant id claim.

Only application tokens (client credentials) are accepted: the routes hand out keys to
services, not to people. A delegated token carries ``scp``; the ``idtyp`` optional claim is
``app`` only in app-only tokens ("the most accurate way for an API to determine if a token is an
app token", Entra optional claims reference); without it, an app token's ``oid`` and ``sub``
are both the client's service principal, while a user token's ``sub`` is pairwise and differs
from the user's ``oid`` (access token claims reference).

Signing keys: the JWK Set is cached for at most ``JWKS_REFRESH_SECONDS`` (PyJWKClient's
``lifespan``), so a key Entra withdraws from the JWKS stops being trusted within that interval;
no per-``kid`` cache outlives it (PyJWKClient's ``cache_keys`` LRU has no expiry and stays off).
An unknown ``kid`` refetches the set at most once per ``cooldown_duration``. The key under the
token's ``kid`` must be an RSA key; any other key, or one PyJWT cannot use, is a 401 (never a 500).
Neither the metadata request nor the JWKS request follows a redirect: both go through the
project's ``requests`` sessions (``_EntraJwks`` replaces only PyJWKClient's urllib fetch), so they
are logged and traced like every other upstream call.

The OpenID metadata is read once (single-flight: concurrent first callers share one request and
wait at most the upstream timeout); once read, it is used without taking any lock.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, NamedTuple

import jwt
import requests

from ..errors import Forbidden, ProblemError, Unauthorized, Upstream, UpstreamFailed, UpstreamTimeout
from ..settings import GUID, Settings
from ..single_flight import SingleFlight
from ..telemetry import set_caller
from ..upstream import (
    UnsafeUrl,
    begin_requests_call,
    connection_origin,
    from_requests_error,
    from_requests_response,
    origin,
    remaining,
    requests_attempt_raised,
    requests_hook,
    session_for,
)
from .roles import holds_any

_LOGGER = logging.getLogger("shared.audit")
ALLOWED_ALGORITHMS = ["RS256"]
# The JWK Set is refetched at least this often, so a signing key Entra withdraws is no longer
# trusted after at most this long (PyJWKClient's ``lifespan``).
JWKS_REFRESH_SECONDS = 3600
# PyJWT refetches the JWKS for an unknown kid at most this often (its default, 30 s, would
# reject a freshly rolled signing key for that long).
JWKS_REFRESH_COOLDOWN_SECONDS = 5
LEEWAY_SECONDS = 60
# A caller waiting for another call's metadata request waits at most its timeout and this much.
_WAIT_SLACK_SECONDS = 1.0


class _Discovery(NamedTuple):
    """What the OpenID metadata says: the signing-key client and the accepted issuers."""

    jwks: jwt.PyJWKClient
    issuers: list[str]
    tenant_guid: str | None


@dataclass(frozen=True)
class Caller:
    app_id: str | None
    object_id: str | None
    roles: frozenset[str]
    # Why the token is not an application token (a user's, or an app acting for one); None when it is.
    not_app_reason: str | None = None


# The caller the current request was authenticated as (None: caller tokens are off).
_current_caller: ContextVar[Caller | None] = ContextVar("caller", default=None)
_current_route: ContextVar[str] = ContextVar("caller_route", default="")


@contextmanager
def caller_scope() -> Iterator[None]:
    """One request's caller: forgotten when the request ends."""
    reset = _current_caller.set(None)
    reset_route = _current_route.set("")
    try:
        yield
    finally:
        _current_caller.reset(reset)
        _current_route.reset(reset_route)


def require_role(any_of: frozenset[str]) -> None:
    """A narrower role check inside a route (e.g. ``readwrite`` keys), after the route's own one.

    A refusal is audited like the route's own (the allowed line was written when the caller passed it).
    """
    caller = _current_caller.get()
    if caller is not None and not holds_any(caller.roles, any_of):
        _audit(_current_route.get(), caller, allowed=False, reason="missing app role for this request", status=403)
        raise Forbidden(_missing_role(caller, any_of))


def _missing_role(caller: Caller, any_of: frozenset[str]) -> str:
    # One spelling per role: a role matched in either case (a tenant ID's) is named once, in lower case.
    spellings: dict[str, str] = {}
    for role in sorted(any_of):
        spellings[role.lower()] = max(spellings.get(role.lower(), role), role)
    needed = " or ".join(sorted(spellings.values()))
    return (
        f"The caller (appid {caller.app_id}) lacks the app role {needed}: assign it to the calling "
        "application on the API's app registration."
    )


def _entra_session(url: str) -> requests.Session:
    """The project's session for one Entra origin: proxies and CA read once, every attempt logged."""
    session = session_for(origin(url))
    session.hooks["response"].append(requests_hook(str(Upstream.ENTRA)))
    return session


class _EntraJwks(jwt.PyJWKClient):
    """PyJWT's JWKS client (its set cache, ``lifespan`` and ``cooldown_duration`` unchanged) that
    fetches the set with the project's ``requests`` session instead of urllib: no redirect is
    followed, the attempt is logged and traced like every other upstream call, proxies and CA
    trust are those of every other client, and the request's time budget bounds the timeout.

    PyJWKClient refreshes the set under its own lock, so callers arriving during a refresh wait
    for it. When that refresh fails, the callers that were already waiting get the same failure
    instead of each repeating the request in turn behind a slow Entra (single-flight for the
    failure); a caller arriving afterwards tries again (a failure is never cached)."""

    def __init__(self, uri: str, *, timeout: float, **options: Any) -> None:
        super().__init__(uri, timeout=timeout, **options)
        self._session = _entra_session(uri)
        self._asked_at = threading.local()  # when this thread asked for a key
        self._last_failure: tuple[float, Exception] | None = None  # (when it ended, what it raised)

    def get_signing_key(self, kid: str) -> jwt.PyJWK:
        self._asked_at.value = time.monotonic()
        return super().get_signing_key(kid)

    def fetch_data(self) -> Any:
        failure = self._last_failure
        asked_at: float | None = getattr(self._asked_at, "value", None)
        if failure is not None and asked_at is not None and asked_at <= failure[0]:
            raise failure[1]  # it failed while this caller was waiting for it: share the outcome
        try:
            return self._fetch()
        except jwt.PyJWTError as exc:
            self._last_failure = (time.monotonic(), exc)
            raise

    def _fetch(self) -> Any:
        timeout = self.timeout
        left = remaining()
        if left is not None:
            timeout = max(min(timeout, left), 0.5)
        begin_requests_call()
        try:
            response = self._session.get(
                self.uri, timeout=timeout, allow_redirects=False, headers={"Accept": "application/json"}
            )
        except requests.RequestException as exc:
            requests_attempt_raised(str(Upstream.ENTRA), "GET", self.uri, exc)
            raise jwt.PyJWKClientConnectionError(f"the JWKS request failed ({type(exc).__name__})") from None
        if response.status_code != 200:
            # A redirect (3xx) included: the keys are read from the metadata's jwks_uri only.
            raise jwt.PyJWKClientConnectionError(f"the JWKS request answered {response.status_code}")
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise jwt.PyJWKClientError("The JWKS endpoint did not return a JSON object")
        # As PyJWKClient.fetch_data does (PyJWT 2.14 and 2.15): cache on success only, and start
        # the cooldown for unknown kids.
        if self.jwk_set_cache is not None:
            self.jwk_set_cache.put(data)
        self._last_successful_fetch = time.monotonic()
        return data

    def close(self) -> None:
        self._session.close()


class CallerAuthenticator:
    def __init__(
        self,
        settings: Settings,
        *,
        jwks_refresh_seconds: float = JWKS_REFRESH_SECONDS,
        jwks_cooldown_seconds: float = JWKS_REFRESH_COOLDOWN_SECONDS,
    ) -> None:
        assert settings.tenant_id
        self._settings = settings
        self._jwks_refresh_seconds = jwks_refresh_seconds
        self._jwks_cooldown_seconds = jwks_cooldown_seconds
        self._audiences = list(settings.caller_audiences)
        self._metadata_url = f"{settings.authority_host}/{settings.tenant_id}/v2.0/.well-known/openid-configuration"
        self._discovered: _Discovery | None = None
        self._flights: SingleFlight[_Discovery] = SingleFlight()
        self._session = _entra_session(self._metadata_url)

    def _discover(self) -> _Discovery:
        """The tenant's issuers and signing-key client, read once from the OpenID metadata.

        Once known, it is read without any lock. Concurrent first callers share one metadata
        request (single-flight): the others wait for its outcome, at most the upstream timeout
        (bounded by the request's budget) — a slow Entra never queues them one behind another,
        and a failure is shared, not retried by each waiter in turn, nor cached.
        """
        discovered = self._discovered
        if discovered is not None:
            return discovered
        return self._flights.run(
            "metadata",
            self._discover_once,
            max_wait=self._timeout() + _WAIT_SLACK_SECONDS,
            on_wait_timeout=lambda: UpstreamTimeout(
                "Timed out waiting for Entra's OpenID metadata, requested by another call.", upstream=Upstream.ENTRA
            ),
        )

    def _discover_once(self) -> _Discovery:
        # A flight that landed just before this one took off already knows the answer.
        discovered = self._discovered
        if discovered is None:
            discovered = self._discovered = self._fetch_metadata()
        return discovered

    def _timeout(self) -> float:
        timeout = self._settings.upstream_timeout_seconds
        left = remaining()
        if left is not None:
            timeout = max(min(timeout, left), 0.5)
        return timeout

    def _fetch_metadata(self) -> _Discovery:
        action = "the OpenID metadata request"
        try:
            # The metadata names the signing keys: it is read from the authority itself, never
            # from wherever a redirect would lead.
            begin_requests_call()
            response = self._session.get(self._metadata_url, timeout=self._timeout(), allow_redirects=False)
        except requests.RequestException as exc:
            requests_attempt_raised(str(Upstream.ENTRA), "GET", self._metadata_url, exc)
            raise from_requests_error(exc, Upstream.ENTRA, action=action, target=self._metadata_url) from None
        if response.status_code == 404 and GUID.fullmatch(self._settings.tenant_id or ""):
            # No discovery document: Entra's well-known locations for a tenant-specific authority.
            base = f"{self._settings.authority_host}/{self._settings.tenant_id}"
            metadata = {"issuer": f"{base}/v2.0", "jwks_uri": f"{base}/discovery/v2.0/keys"}
        elif response.status_code != 200:
            raise from_requests_response(response, Upstream.ENTRA, action=action, target=self._metadata_url)
        else:
            try:
                metadata = response.json()
            except ValueError:
                metadata = None
            if not isinstance(metadata, dict) or not metadata.get("issuer") or not metadata.get("jwks_uri"):
                raise UpstreamFailed("Entra's OpenID metadata has no issuer or jwks_uri.", upstream=Upstream.ENTRA)
            try:
                https_jwks = connection_origin(str(metadata["jwks_uri"])).startswith("https://")
            except UnsafeUrl:
                https_jwks = False
            if not https_jwks:
                raise UpstreamFailed(
                    "Entra's OpenID metadata names a jwks_uri that is not a plain https URL.",
                    upstream=Upstream.ENTRA,
                )
        issuer = str(metadata["issuer"])
        # The v2.0 issuer is {authority}/{tenant GUID}/v2.0; the GUID also names the v1 issuer.
        tenant_guid = issuer.rstrip("/").split("/")[-2] if issuer.rstrip("/").endswith("/v2.0") else None
        issuers = [issuer]
        template = self._settings.cloud.v1_issuer_template
        if template and tenant_guid:
            issuers.append(template.format(tenant=tenant_guid))
        try:
            jwks = _EntraJwks(
                str(metadata["jwks_uri"]),
                # The set, not single keys, is cached: the per-kid LRU (cache_keys) never expires,
                # so a withdrawn key would stay trusted for the life of the process.
                cache_keys=False,
                cache_jwk_set=True,
                lifespan=self._jwks_refresh_seconds,
                timeout=self._settings.upstream_timeout_seconds,
                cooldown_duration=self._jwks_cooldown_seconds,
            )
        except jwt.PyJWKClientError:
            raise UpstreamFailed(
                "Entra's OpenID metadata names a jwks_uri the function cannot use.", upstream=Upstream.ENTRA
            ) from None
        return _Discovery(jwks, issuers, tenant_guid)

    def authenticate(self, authorization: str | None) -> Caller:
        """The caller a valid token names (whatever kind of token it is); 401 for any other token."""
        if not authorization:
            raise Unauthorized("An Entra bearer token is required (Authorization: Bearer <token>).", error=None)
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("The Authorization header must carry a Bearer token.", error=None)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise Unauthorized("The bearer token is not a well-formed JWT.") from None
        if header.get("alg") not in ALLOWED_ALGORITHMS:
            raise Unauthorized("The bearer token's signing algorithm is not accepted.")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise Unauthorized("The bearer token has no key id (kid).")
        jwks, issuers, tenant_guid = self._discover()
        try:
            signing_key = jwks.get_signing_key(kid)
        except jwt.PyJWKClientConnectionError:
            raise UpstreamFailed(
                "The tenant's signing keys (JWKS) could not be fetched to validate the caller's token.",
                upstream=Upstream.ENTRA,
            ) from None
        except jwt.PyJWKSetError:
            raise UpstreamFailed(
                "The tenant's signing keys (JWKS) hold no usable key to validate the caller's token.",
                upstream=Upstream.ENTRA,
            ) from None
        except (jwt.PyJWTError, TypeError, ValueError):
            # PyJWKClientError (no such kid) or anything else PyJWT raises for the key set.
            raise Unauthorized("The bearer token was not signed by a key of the tenant.") from None
        if signing_key.key_type != "RSA":
            # Entra signs access tokens with RSA keys only; a key of another type under this kid
            # (EC, oct) must not be tried with RS256 — it is refused, not an error of the function.
            raise Unauthorized("The bearer token names a signing key that is not an RSA key of the tenant.")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                signing_key.key,
                algorithms=ALLOWED_ALGORITHMS,
                audience=self._audiences,
                issuer=issuers,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("The bearer token has expired.") from None
        except jwt.ImmatureSignatureError:
            raise Unauthorized("The bearer token is not valid yet.") from None
        except jwt.InvalidAudienceError:
            raise Unauthorized("The bearer token was issued for another audience.") from None
        except jwt.InvalidIssuerError:
            raise Unauthorized("The bearer token was not issued by this function's tenant.") from None
        except (jwt.PyJWTError, TypeError, ValueError):
            # InvalidTokenError, and also InvalidKeyError or a TypeError for a key PyJWT cannot use.
            raise Unauthorized("The bearer token's signature or claims are invalid.") from None
        if tenant_guid and claims.get("tid") not in (None, tenant_guid):
            raise Unauthorized("The bearer token was issued for another tenant.")
        roles = claims.get("roles")
        app_id = claims.get("appid") or claims.get("azp")
        return Caller(
            app_id=app_id if isinstance(app_id, str) else None,
            object_id=claims.get("oid") if isinstance(claims.get("oid"), str) else None,
            roles=frozenset(r for r in roles if isinstance(r, str)) if isinstance(roles, list) else frozenset(),
            not_app_reason=_not_an_app_token(claims),
        )

    def authorize(self, authorization: str | None, *, route: str, any_of: frozenset[str]) -> Caller:
        """Authenticate the caller, insist on an application token with one of ``any_of``; audit the outcome."""
        try:
            caller = self.authenticate(authorization)
        except ProblemError as problem:
            _audit(route, None, allowed=False, reason=problem.operator_hint, status=problem.status)
            raise
        set_caller(caller.app_id)
        if caller.not_app_reason:
            _audit(route, caller, allowed=False, reason=caller.not_app_reason, status=403)
            raise Forbidden(
                f"The bearer token is not an application token ({caller.not_app_reason}): this API serves services "
                "calling as themselves (client credentials flow), not users or apps acting for a user."
            )
        if not holds_any(caller.roles, any_of):
            _audit(route, caller, allowed=False, reason="missing app role", status=403)
            raise Forbidden(_missing_role(caller, any_of))
        _audit(route, caller, allowed=True, reason=None, status=None)
        _current_caller.set(caller)
        _current_route.set(route)
        return caller

    def close(self) -> None:
        self._session.close()
        discovered = self._discovered
        if discovered is not None and isinstance(discovered.jwks, _EntraJwks):
            discovered.jwks.close()


def _not_an_app_token(claims: dict[str, Any]) -> str | None:
    """Why a valid token is not an app-only token, or None when it is one."""
    if "scp" in claims:
        return "it carries delegated scopes (scp), as a user's token does"
    idtyp = claims.get("idtyp")
    if idtyp is not None:
        return None if idtyp == "app" else "its idtyp claim is not 'app'"
    oid, sub = claims.get("oid"), claims.get("sub")
    if not isinstance(oid, str) or not oid or oid != sub:
        return "without idtyp, its oid must equal its sub, as in tokens applications get for themselves"
    return None


def _audit(route: str, caller: Caller | None, *, allowed: bool, reason: str | None, status: int | None) -> None:
    """One line per caller decision: who (appid/oid), which route, the outcome; never the token."""
    appid = caller.app_id if caller else None
    oid = caller.object_id if caller else None
    _LOGGER.info(
        "caller appid=%s oid=%s route=%s allowed=%s%s",
        appid,
        oid,
        route,
        allowed,
        f" status={status} reason={reason}" if reason else "",
        extra={
            "caller_appid": appid,
            "caller_oid": oid,
            "route": route,
            "allowed": allowed,
            "refusal_status": status,
            "refusal_reason": reason,
        },
    )
