# The emulator's token service: the tenant's RSA signing key (with `kid`/`x5t`, published in
# the JWKS), minting of Entra-like access tokens and their validation by resource servers.
# Claim set follows Microsoft's access token reference (learn.microsoft.com/entra/
# identity-platform/access-token-claims-reference): v1.0 resource tokens (Key Vault, ARM,
# Graph accept v1) carry `iss` https://sts.windows.net/{tid}/ and `appid`; v2.0 tokens carry
# `iss` {authority}/{tid}/v2.0 and `azp`. Both carry `aud`, `iat`, `nbf`, `exp`, `oid`, `sub`,
# `tid`, `roles`, `idtyp: app`, `ver`. Delegated (user) tokens carry `scp`, the user's `oid`, a
# pairwise `sub` (unique per client app, so never equal to `oid`), `name`, `preferred_username`
# (v2) or `upn`/`unique_name` (v1) and, when the API asks for the optional claim, `idtyp: user`
# (learn.microsoft.com/entra/identity-platform/optional-claims-reference: `idtyp` is "the most
# accurate way for an API to determine if a token is an app token or an app+user token").
# Signing keys: Entra publishes several keys in the tenant's JWKS and rolls them; a key it
# withdraws disappears from the JWKS (learn.microsoft.com/entra/identity-platform/signing-key-rollover).
# Tokens are never logged.
from __future__ import annotations

import base64
import datetime as dt
import time
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from emulator import certs

# Resource servers tolerate 5 minutes of clock skew (Microsoft.IdentityModel's default
# ClockSkew). [D] learn.microsoft.com TokenValidationParameters.DefaultClockSkew
CLOCK_SKEW_SECONDS = 300


@dataclass(frozen=True)
class SigningKey:
    private_key: rsa.RSAPrivateKey
    cert_der: bytes

    @property
    def kid(self) -> str:
        # Entra's kid for its signing keys equals the certificate's x5t.
        return certs.x5t(self.cert_der)

    @property
    def public_key(self) -> rsa.RSAPublicKey:
        return self.private_key.public_key()

    def jwk(self, issuer: str) -> dict[str, Any]:
        return {
            **certs.public_jwk(self.public_key),
            "use": "sig",
            "kid": self.kid,
            "x5t": self.kid,
            "x5c": [base64.b64encode(self.cert_der).decode("ascii")],
            "issuer": issuer,
        }


def new_signing_key(subject: str) -> SigningKey:
    key = certs.new_rsa_key()
    now = dt.datetime.now(dt.UTC)
    der = certs.self_signed(key, subject, not_before=now - dt.timedelta(days=1), not_after=now + dt.timedelta(days=365))
    return SigningKey(key, der)


class TokenError(Exception):
    """A bearer token a resource server refuses. `reason` is one of: missing, malformed,
    signature, expired, not_yet_valid, audience, issuer."""

    def __init__(self, reason: str, claims: Mapping[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.claims: Mapping[str, Any] = claims or {}


class TokenService:
    def __init__(self, tenant_id: str, login_origin: Callable[[], str]) -> None:
        self.tenant_id = tenant_id
        self._login_origin = login_origin
        self._seed_key = new_signing_key("accounts.emulator.invalid")
        # The key Entra signs new tokens with, and every key the tenant's JWKS publishes.
        self.tenant_key = self._seed_key
        self.published: list[SigningKey] = [self._seed_key]
        # Keys taken out of the JWKS, newest last: tokens they sign must stop validating.
        self.withdrawn: list[SigningKey] = []
        # Not published anywhere: tokens it signs must fail signature validation.
        self.rogue_key = new_signing_key("rogue.emulator.invalid")

    # signing keys --------------------------------------------------------------------
    def reset_signing_keys(self) -> None:
        """The seed key again, alone in the JWKS (key generation is too slow to redo per test)."""
        self.tenant_key = self._seed_key
        self.published = [self._seed_key]
        self.withdrawn = []

    def add_signing_key(self, *, current: bool = True) -> str:
        """Publish a new key in the JWKS (and, by default, sign new tokens with it); its kid."""
        key = new_signing_key(f"accounts-{len(self.published) + len(self.withdrawn)}.emulator.invalid")
        self.published = [*self.published, key]
        if current:
            self.tenant_key = key
        return key.kid

    def withdraw_signing_key(self, kid: str | None = None) -> str:
        """Take a key out of the JWKS (default: the current one, replaced by a fresh key); its kid."""
        key = self.tenant_key if kid is None else next((k for k in self.published if k.kid == kid), None)
        if key is None:
            raise ValueError(f"no published signing key with kid {kid!r}")
        self.published = [k for k in self.published if k is not key]
        self.withdrawn = [*self.withdrawn, key]
        if key is self.tenant_key:
            if not self.published:
                self.add_signing_key()
            self.tenant_key = self.published[-1]
        return key.kid

    def published_key(self, kid: object) -> SigningKey | None:
        return next((k for k in self.published if k.kid == kid), None)

    # issuers -------------------------------------------------------------------------
    def v1_issuer(self, tenant_id: str | None = None) -> str:
        return f"https://sts.windows.net/{tenant_id or self.tenant_id}/"

    def v2_issuer(self, tenant_id: str | None = None) -> str:
        return f"{self._login_origin()}/{tenant_id or self.tenant_id}/v2.0"

    def jwks(self) -> dict[str, Any]:
        return {"keys": [key.jwk(self.v2_issuer()) for key in self.published]}

    # minting -------------------------------------------------------------------------
    def sign(
        self,
        claims: Mapping[str, Any],
        *,
        signing_key: str = "tenant",
        alg: str = "RS256",
        kid: str | None = None,
    ) -> str:
        keys = {"tenant": self.tenant_key, "rogue": self.rogue_key}
        if self.withdrawn:
            keys["withdrawn"] = self.withdrawn[-1]
        key = keys.get(signing_key) or self.published_key(signing_key)
        if key is None:
            raise ValueError(
                "signing_key must be 'tenant', 'rogue', 'withdrawn' (after a withdrawal) or a published kid"
            )
        headers = {"typ": "JWT", "kid": kid or key.kid}
        if kid is None:
            headers["x5t"] = key.kid
        if alg == "none":
            return jwt.encode(dict(claims), None, algorithm="none", headers=headers)
        if alg not in {"RS256", "PS256", "RS384", "RS512", "PS384", "PS512"}:
            raise ValueError(f"unsupported alg {alg!r}")
        # The key object, not PEM: re-loading an RSA private key re-checks it (~100 ms).
        return jwt.encode(dict(claims), key.private_key, algorithm=alg, headers=headers)

    def _access_claims(
        self, audience: str, version: str, tenant_id: str | None, not_before: float | None, lifetime: int
    ) -> tuple[dict[str, Any], int]:
        """The claims every Entra access token carries (app-only and delegated alike); returns (claims, exp)."""
        now = int(time.time())
        nbf = int(not_before) if not_before is not None else now - 300  # Entra back-dates nbf/iat 5 min
        exp = now + int(lifetime)
        tid = tenant_id or self.tenant_id
        claims: dict[str, Any] = {
            "aud": audience,
            "iss": self.v1_issuer(tid) if version == "1.0" else self.v2_issuer(tid),
            "iat": min(now - 300, nbf),
            "nbf": nbf,
            "exp": exp,
            "aio": uuid.uuid4().hex,
            "rh": "0.emulator.",
            "tid": tid,
            "uti": uuid.uuid4().hex[:22],
            "ver": version,
        }
        return claims, exp

    def app_token(
        self,
        *,
        audience: str,
        app_id: str,
        object_id: str,
        roles: Sequence[str] = (),
        lifetime: int = 3599,
        version: str = "1.0",
        tenant_id: str | None = None,
        extra: Mapping[str, Any] | None = None,
        not_before: float | None = None,
        signing_key: str = "tenant",
        alg: str = "RS256",
        kid: str | None = None,
        idtyp: bool = True,
    ) -> tuple[str, int]:
        """An app-only access token; returns (token, exp). `idtyp=False`: without the optional claim."""
        claims, exp = self._access_claims(audience, version, tenant_id, not_before, lifetime)
        claims.update({"idp": self.v1_issuer(claims["tid"]), "idtyp": "app", "oid": object_id, "sub": object_id})
        if version == "1.0":
            claims.update({"appid": app_id, "appidacr": "2"})
        else:
            claims.update({"azp": app_id, "azpacr": "2"})
        claims["azp" if version == "1.0" else "appid"] = app_id  # both, per the emulator brief
        if not idtyp:
            del claims["idtyp"]
        if roles:
            claims["roles"] = list(roles)
        claims.update(extra or {})
        return self.sign(claims, signing_key=signing_key, alg=alg, kid=kid), exp

    def user_token(
        self,
        *,
        audience: str,
        app_id: str,
        user_object_id: str,
        scopes: Sequence[str] = ("user_impersonation",),
        roles: Sequence[str] = (),
        lifetime: int = 3599,
        version: str = "1.0",
        tenant_id: str | None = None,
        not_before: float | None = None,
        signing_key: str = "tenant",
        alg: str = "RS256",
        kid: str | None = None,
        idtyp: bool = True,
        upn: str = "adele.vance@contosoemulated.onmicrosoft.com",
    ) -> tuple[str, int]:
        """A delegated access token (a user signed in to client `app_id`); returns (token, exp).

        `scopes` become `scp` (empty: no `scp`, as for a user holding only app roles); `roles`
        are the user's app role assignments on the API; `sub` is pairwise, never the `oid`.
        """
        claims, exp = self._access_claims(audience, version, tenant_id, not_before, lifetime)
        claims.update(
            {
                "name": "Adele Vance",
                "oid": user_object_id,
                # Pairwise: the same user gets another `sub` in every client application.
                "sub": base64.urlsafe_b64encode(uuid.uuid5(uuid.NAMESPACE_URL, f"{user_object_id}/{app_id}").bytes)
                .rstrip(b"=")
                .decode(),
            }
        )
        if version == "1.0":
            claims.update(
                {"appid": app_id, "appidacr": "0", "amr": ["pwd"], "upn": upn, "unique_name": upn, "acr": "1"}
            )
        else:
            claims.update({"azp": app_id, "azpacr": "0", "preferred_username": upn})
        if idtyp:
            claims["idtyp"] = "user"
        if scopes:
            claims["scp"] = " ".join(scopes)
        if roles:
            claims["roles"] = list(roles)
        return self.sign(claims, signing_key=signing_key, alg=alg, kid=kid), exp

    # validation ----------------------------------------------------------------------
    def validate(
        self,
        token: str | None,
        *,
        audiences: Collection[str],
        issuers: Collection[str] | None = None,
        tenants: Collection[str] | None = None,
    ) -> dict[str, Any]:
        """Claims of a token signed by the tenant key, for one of `audiences`, issued by one
        of `issuers` (default: the v1 and v2 issuers of `tenants`), within its lifetime.
        `tenants`: the directories whose tokens the resource accepts (default: the home tenant's
        only, as ARM for its subscription; Graph accepts every tenant's and serves that one)."""
        if token is None or token == "":
            raise TokenError("missing")
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise TokenError("malformed") from exc
        key = self.published_key(header.get("kid"))
        if header.get("alg") != "RS256" or key is None:
            raise TokenError("signature", unverified)
        try:
            claims = jwt.decode(
                token,
                key.public_key,
                algorithms=["RS256"],
                options={"verify_aud": False, "verify_exp": False, "verify_nbf": False, "verify_iat": False},
            )
        except jwt.PyJWTError as exc:
            raise TokenError("signature", unverified) from exc
        now = time.time()
        try:
            exp = float(claims["exp"])
        except (KeyError, TypeError, ValueError) as exc:
            raise TokenError("malformed", claims) from exc
        if exp + CLOCK_SKEW_SECONDS < now:
            raise TokenError("expired", claims)
        nbf = claims.get("nbf")
        if isinstance(nbf, int | float) and nbf - CLOCK_SKEW_SECONDS > now:
            raise TokenError("not_yet_valid", claims)
        if claims.get("aud") not in audiences:
            raise TokenError("audience", claims)
        tids = {t.lower() for t in tenants} if tenants is not None else {self.tenant_id}
        allowed = issuers if issuers is not None else {i for t in tids for i in (self.v1_issuer(t), self.v2_issuer(t))}
        if claims.get("iss") not in allowed or str(claims.get("tid", self.tenant_id)).lower() not in tids:
            raise TokenError("issuer", claims)
        return claims


def utc_iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
