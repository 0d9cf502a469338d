"""Property test: generated caller tokens against the real routes, through the host and the emulator.

Every combination of token kind (app, app without ``idtyp``, delegated with ``scp`` and with or
without roles, a user's token with roles only), audience, issuer and tenant, signing key
(current, withdrawn, foreign), ``alg`` (including ``none`` and HS256), lifetime and size: only
a valid application token carrying the route's role gets through; every refusal is a 401/403
``application/problem+json``; no token ever appears in a response or a log record.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass

import jwt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.e2e

ROLES = ("CosmosKeys.Read", "CosmosKeys.ReadWrite", "Users.Read", "Diagnostics.Read", "Rollover.Write", "User.Read.All")
# route -> (method, path, query, roles of which the token needs one)
ROUTES = {
    "cosmos-readonly": ("GET", "cosmos/cosmos-orders/keys", {}, {"CosmosKeys.Read", "CosmosKeys.ReadWrite"}),
    "cosmos-readwrite": ("GET", "cosmos/cosmos-orders/keys", {"type": "readwrite"}, {"CosmosKeys.ReadWrite"}),
    "users": ("GET", "graph/users", {"limit": "1"}, {"Users.Read"}),
    "diagnostics": ("GET", "diagnostics", {}, {"Diagnostics.Read"}),
    "rollover-dry-run": ("POST", "rollover", {"dryRun": "true"}, {"Rollover.Write"}),
}
KINDS = (
    "app",
    "app-without-idtyp",
    "delegated",
    "delegated-without-roles",
    "delegated-without-idtyp",
    "user-roles-only",
)
FOREIGN_TENANT = str(uuid.UUID(int=0x5EED))


@dataclass(frozen=True)
class Spec:
    route: str
    kind: str
    roles: frozenset[str]
    audience: str  # "uri", "client-id" or "foreign"
    issuer: str  # "v1" or "v2"
    tenant: str  # "own" or "foreign"
    key: str  # "current", "withdrawn" or "foreign"
    alg: str
    expires_in: int
    not_before_offset: int
    padding: int


# Each dimension's values that a valid token may have, and those that must get it refused. A
# generated token breaks none, one or two dimensions, so accepted tokens are drawn as often as refused ones.
VALID = {
    "kind": ("app", "app-without-idtyp"),
    "audience": ("uri", "client-id"),
    "issuer": ("v1", "v2"),
    "tenant": ("own",),
    "key": ("current",),
    "alg": ("RS256",),
    "expires_in": (-30, 120, 3600),  # -30: expired, but within the 60 s leeway
    "not_before_offset": (0, 30),  # 30: not yet valid, within the leeway
    "padding": (0, 1500, 6000),
}
INVALID = {
    "kind": ("delegated", "delegated-without-roles", "delegated-without-idtyp", "user-roles-only"),
    "audience": ("foreign",),
    "tenant": ("foreign",),
    "key": ("withdrawn", "foreign"),
    "alg": ("PS256", "RS512", "none", "HS256"),
    "expires_in": (-3600,),
    "not_before_offset": (3600,),
}


@st.composite
def specs(draw: st.DrawFn) -> Spec:
    route = draw(st.sampled_from(sorted(ROUTES)))
    broken = draw(st.sets(st.sampled_from(sorted(INVALID)), max_size=2))
    values = {name: draw(st.sampled_from(INVALID[name] if name in broken else VALID[name])) for name in VALID}
    roles = draw(st.frozensets(st.sampled_from(ROLES), max_size=3))
    if draw(st.booleans()):
        roles |= {draw(st.sampled_from(sorted(ROUTES[route][3])))}
    return Spec(route=route, roles=roles, **values)


def mint(emu, spec: Spec, withdrawn_kid: str) -> str:
    audience = {"uri": emu.seed.api_app_id_uri, "client-id": emu.seed.client_id, "foreign": "api://someone-else"}[
        spec.audience
    ]
    kind = {
        "app": {},
        "app-without-idtyp": {"idtyp": False},
        "delegated": {"user": True},
        "delegated-without-roles": {"user": True},
        "delegated-without-idtyp": {"user": True, "idtyp": False},
        "user-roles-only": {"user": True, "scopes": ()},
    }[spec.kind]
    roles = () if spec.kind == "delegated-without-roles" else sorted(spec.roles)
    common = {
        "audience": audience,
        "roles": roles,
        "issuer": spec.issuer,
        "tenant_id": FOREIGN_TENANT if spec.tenant == "foreign" else None,
        "expires_in": spec.expires_in,
        "not_before": time.time() + spec.not_before_offset,
        **kind,
    }
    if spec.alg == "HS256":
        # Algorithm confusion: a token MACed with a value anyone can know, naming the tenant's key.
        valid = emu.entra.mint_caller_token(**common)
        claims = jwt.decode(valid, options={"verify_signature": False})
        header = {"kid": jwt.get_unverified_header(valid)["kid"]}
        token = jwt.encode(claims, "a-secret-anyone-could-guess-32by", algorithm="HS256", headers=header)
    else:
        signing_key = {"current": "tenant", "withdrawn": withdrawn_kid, "foreign": "rogue"}[spec.key]
        if spec.key == "withdrawn":
            signing_key = "withdrawn"
        token = emu.entra.mint_caller_token(**common, signing_key=signing_key, alg=spec.alg)
    if spec.padding:
        # Size: re-sign the same claims with a large extra claim (Entra tokens with many groups are large).
        claims = jwt.decode(token, options={"verify_signature": False})
        claims["xms_pad"] = "p" * spec.padding
        header = jwt.get_unverified_header(token)
        if spec.alg == "none" or spec.alg == "HS256":
            key = None if spec.alg == "none" else "a-secret-anyone-could-guess-32by"
            token = jwt.encode(claims, key, algorithm=spec.alg, headers={"kid": header.get("kid")})
        else:
            tokens = emu.context.tokens
            token = tokens.sign(
                claims,
                signing_key={"current": "tenant", "withdrawn": "withdrawn", "foreign": "rogue"}[spec.key],
                alg=spec.alg,
            )
    return token


def expected(spec: Spec) -> int:
    """The status the route must answer: 401, 403, or 200 (the route's own success)."""
    signature_ok = spec.alg == "RS256" and spec.key == "current"
    time_ok = spec.expires_in > -60 and spec.not_before_offset < 60
    if not (signature_ok and time_ok and spec.audience != "foreign" and spec.tenant == "own"):
        return 401
    if spec.kind not in ("app", "app-without-idtyp"):
        return 403
    _, _, _, needed = ROUTES[spec.route]
    if not (spec.roles & needed):
        return 403
    return 200


@pytest.fixture
def protected(configure, emu):
    withdrawn = emu.entra.withdraw_signing_key()  # before the function ever fetches the JWKS
    client = configure(CALLER_AUDIENCE=f"{emu.seed.api_app_id_uri},{emu.seed.client_id}")
    return client, withdrawn


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(spec=specs())
def test_only_a_valid_app_token_with_the_routes_role_gets_through(protected, emu, caplog, spec):
    client, withdrawn_kid = protected
    caplog.set_level(logging.DEBUG)
    token = mint(emu, spec, withdrawn_kid)
    method, path, query, _ = ROUTES[spec.route]
    response = client.request(method, path, headers={"Authorization": f"Bearer {token}"}, **query)
    status = expected(spec)
    assert response.status_code == status, (spec, response.status_code, response.text[:300])
    if status in (401, 403):
        assert response.headers["Content-Type"].startswith("application/problem+json")
        problem = response.json()
        assert problem["status"] == status
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    signature = token.rsplit(".", 1)[-1]
    for secret in filter(None, (token, signature if len(signature) > 16 else None)):
        assert secret not in response.text
        assert all(secret not in value for value in response.headers.values())
        for record in caplog.records:
            assert secret not in record.getMessage()
            assert secret not in str(record.__dict__)
    caplog.clear()
