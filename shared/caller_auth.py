"""Caller authorization: an Entra access token for ``CALLER_AUDIENCE`` carrying the route's app role.

Validation follows Microsoft's "Access tokens" / "Validate tokens" guidance: signature against
the tenant's JWKS (found through the OpenID metadata, cached, refreshed on an unknown ``kid``
with PyJWT's cooldown), an algorithm allow-list (Entra signs access tokens with RS256), the
tenant's v2.0 issuer — and in the public cloud the v1 ``https://sts.windows.net/{tid}/``
issuer — the audience, ``exp``/``nbf`` with a small leeway, and the tenant id claim.
"""

from __future__ import annotations

import logging
import os
import ssl
import threading
from dataclasses import dataclass
from typing import Any

import jwt
import requests

from .errors import Forbidden, Unauthorized, Upstream, UpstreamFailed
from .retry import remaining
from .settings import GUID, Settings
from .upstream_errors import from_requests_error, from_requests_response

_LOGGER = logging.getLogger("shared.audit")
ALLOWED_ALGORITHMS = ["RS256"]
# PyJWT refetches the JWKS for an unknown kid at most this often (its default, 30 s, would
# reject a freshly rolled signing key for that long).
JWKS_REFRESH_COOLDOWN_SECONDS = 5
LEEWAY_SECONDS = 60


@dataclass(frozen=True)
class Caller:
    app_id: str | None
    object_id: str | None
    roles: frozenset[str]


def _ssl_context() -> ssl.SSLContext:
    # Same trust as requests: honour REQUESTS_CA_BUNDLE / SSL_CERT_FILE when set.
    cafile = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("SSL_CERT_FILE")
    return ssl.create_default_context(cafile=cafile) if cafile else ssl.create_default_context()


class CallerAuthenticator:
    def __init__(self, settings: Settings) -> None:
        assert settings.tenant_id
        self._settings = settings
        self._audiences = list(settings.caller_audiences)
        self._metadata_url = f"{settings.authority_host}/{settings.tenant_id}/v2.0/.well-known/openid-configuration"
        self._lock = threading.Lock()
        self._issuers: list[str] | None = None
        self._tenant_guid: str | None = None
        self._jwks: jwt.PyJWKClient | None = None
        self._session = requests.Session()

    def _discover(self) -> tuple[jwt.PyJWKClient, list[str], str | None]:
        with self._lock:
            if self._jwks is not None and self._issuers is not None:
                return self._jwks, self._issuers, self._tenant_guid
            timeout = self._settings.upstream_timeout_seconds
            left = remaining()
            if left is not None:
                timeout = max(min(timeout, left), 0.5)
            action = "the OpenID metadata request"
            try:
                response = self._session.get(self._metadata_url, timeout=timeout)
            except requests.RequestException as exc:
                raise from_requests_error(exc, Upstream.ENTRA, action=action) from None
            if response.status_code == 404 and GUID.match(self._settings.tenant_id or ""):
                # No discovery document: Entra's well-known locations for a tenant-specific authority.
                base = f"{self._settings.authority_host}/{self._settings.tenant_id}"
                metadata = {"issuer": f"{base}/v2.0", "jwks_uri": f"{base}/discovery/v2.0/keys"}
            elif response.status_code != 200:
                raise from_requests_response(response, Upstream.ENTRA, action=action)
            else:
                try:
                    metadata = response.json()
                except ValueError:
                    metadata = None
                if not isinstance(metadata, dict) or not metadata.get("issuer") or not metadata.get("jwks_uri"):
                    raise UpstreamFailed("Entra's OpenID metadata has no issuer or jwks_uri.", upstream=Upstream.ENTRA)
            issuer = str(metadata["issuer"])
            # The v2.0 issuer is {authority}/{tenant GUID}/v2.0; the GUID also names the v1 issuer.
            tenant_guid = issuer.rstrip("/").split("/")[-2] if issuer.rstrip("/").endswith("/v2.0") else None
            issuers = [issuer]
            template = self._settings.cloud.v1_issuer_template
            if template and tenant_guid:
                issuers.append(template.format(tenant=tenant_guid))
            self._jwks = jwt.PyJWKClient(
                str(metadata["jwks_uri"]),
                cache_keys=True,
                lifespan=3600,
                timeout=self._settings.upstream_timeout_seconds,
                ssl_context=_ssl_context(),
                cooldown_duration=JWKS_REFRESH_COOLDOWN_SECONDS,
            )
            self._issuers = issuers
            self._tenant_guid = tenant_guid
            return self._jwks, issuers, tenant_guid

    def authenticate(self, authorization: str | None) -> Caller:
        if not authorization:
            raise Unauthorized("An Entra bearer token is required (Authorization: Bearer <token>).")
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("The Authorization header must carry a Bearer token.")
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
        except jwt.PyJWKClientError:
            raise Unauthorized("The bearer token was not signed by a key of the tenant.") from None
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
        except jwt.InvalidTokenError:
            raise Unauthorized("The bearer token's signature or claims are invalid.") from None
        if tenant_guid and claims.get("tid") not in (None, tenant_guid):
            raise Unauthorized("The bearer token was issued for another tenant.")
        roles = claims.get("roles")
        return Caller(
            app_id=claims.get("appid") or claims.get("azp"),
            object_id=claims.get("oid"),
            roles=frozenset(r for r in roles if isinstance(r, str)) if isinstance(roles, list) else frozenset(),
        )

    def authorize(self, authorization: str | None, *, route: str, any_of: frozenset[str]) -> Caller:
        caller = self.authenticate(authorization)
        allowed = bool(caller.roles & any_of)
        _LOGGER.info(
            "caller appid=%s oid=%s route=%s allowed=%s",
            caller.app_id,
            caller.object_id,
            route,
            allowed,
            extra={"caller_appid": caller.app_id, "caller_oid": caller.object_id, "route": route, "allowed": allowed},
        )
        if not allowed:
            needed = " or ".join(sorted(any_of))
            raise Forbidden(
                f"The caller (appid {caller.app_id}) lacks the app role {needed}: assign it to the calling "
                "application on the API's app registration."
            )
        return caller

    def close(self) -> None:
        self._session.close()
