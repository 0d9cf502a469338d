# Azure Resource Manager: the key actions and the GET of every kind in emulator/resource_kinds.py
# (one table; each entry cites its provider's REST reference), authorized by Azure RBAC
# (emulator/arm_rbac.py).
# ARM behaviour: AZURE-PROTOCOLS.md 5, 9 item 9 and 12 — POST actions count as writes
# (x-ms-ratelimit-remaining-subscription-writes), GETs as reads (…-reads); token buckets per
# principal: reads 250 refilling 25/s, writes 200 refilling 10/s
# (learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling);
# 429 SubscriptionRequestsThrottled with Retry-After [O] velero-io/velero#9171; AuthorizationFailed
# with the exact action and scope [O] MicrosoftDocs/azure-docs#66187; ResourceNotFound /
# ResourceGroupNotFound / ParentResourceNotFound ("Can not perform requested operation on nested
# resource. Parent resource '{name}' not found.") [O] public issue threads;
# NoRegisteredProviderFound for an api-version the provider does not register [O]
# Azure/azure-cli#7075, Azure/azure-resource-manager-schemas#154; InvalidApiVersionParameter ("The
# api-version '{v}' is invalid. The supported versions are '…'.") [O] Azure/azure-sdk-for-net#2276
# for a value that is not an api-version at all [U: which of the two ARM picks for that];
# ARM paths are case-insensitive; ARM authorizes before the provider looks the resource up.
from __future__ import annotations

import copy
import datetime as dt
import math
import re
import time
from dataclasses import replace
from typing import Any

from emulator.arm_rbac import Rbac, RoleDefinition
from emulator.httpd import Request, Response, json_response
from emulator.resource_kinds import KINDS, KeyAction, Resource, ResourceKind, kind_for_path, sas_rule_keys
from emulator.resources import ARM, audiences
from emulator.surface import Context, Surface, new_id
from emulator.tokens import TokenError

# Cosmos DB's accepted api-versions (kept for importers of the old module constant).
API_VERSIONS = KINDS["cosmos"].api_versions

BROKER_ROLE_NAME = "Broker resource keys reader"  # the custom role infra/app/resource-keys.bicep deploys
_PATH = re.compile(r"/subscriptions/([^/]+)/resourcegroups/([^/]+)/providers/([^/]+)/(.+)", re.IGNORECASE)
_API_VERSION = re.compile(r"\d{4}-\d{2}-\d{2}(-(preview|alpha|beta|privatepreview))?")
# (capacity, refill per second): AZURE-PROTOCOLS.md 5.
BUCKETS = {"reads": (250.0, 25.0), "writes": (200.0, 10.0)}


def arm_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    request_id = new_id()
    all_headers = {
        "Cache-Control": "no-cache",
        "Pragma": "no-cache",
        "Expires": "-1",
        "x-ms-request-id": request_id,
        "x-ms-correlation-request-id": request_id,
        "x-ms-failure-cause": "gateway",
    }
    all_headers.update(headers or {})
    return json_response(status, {"error": {"code": code, "message": message}}, headers=all_headers)


_error = arm_error


class _Target:
    """What one ARM path names: a kind, the resource's path parts and the action (if any)."""

    def __init__(self, match: re.Match[str], kind: ResourceKind, parts: list[str]) -> None:
        self.subscription, self.group, self.provider = match.group(1), match.group(2), match.group(3)
        self.kind = kind
        self.name = parts[1]
        self.level = 2 if len(parts) >= 4 else 1  # 2: the authorization rule of a namespace
        self.rule = parts[3] if self.level == 2 else None
        self.action_name = parts[4 if self.level == 2 else 2] if len(parts) in (3, 5) else None
        depth = 4 if self.level == 2 else 2
        # The scope as the client spelled it (ARM echoes it in AuthorizationFailed).
        self.scope = (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.group}/providers/{self.provider}/"
            + "/".join(parts[:depth])
        )
        self.type_path = "/".join(parts[0:depth:2])  # databaseAccounts or namespaces/authorizationRules


class ArmSurface(Surface):
    name = "management"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.rbac = Rbac()
        self.resources: dict[tuple[str, str, str, str], Resource] = {}
        self.resource_groups: set[str] = set()
        # Rate limits are always counted (headers); refused with 429 only when enforced, because
        # a benchmark of thousands of uncached key calls would drain the write bucket in seconds.
        self.enforce_rate_limits = False
        # Paged answers (Search listQueryKeys, App Configuration listKeys): None answers in one page.
        self.page_size: int | None = None
        self.buckets = dict(BUCKETS)  # tests may shrink them
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}
        # Keys are generated per run and survive reset(): tests compare them across calls.
        self._seed_keys: dict[tuple[str, str], dict[str, Any]] = {}
        self.broker_role: RoleDefinition | None = None

    # ------------------------------------------------------------------ state
    def reset(self) -> None:
        seed = self.ctx.seed
        with self.lock:
            self.rbac.reset()
            self.resources.clear()
            self.resource_groups = {seed.resource_group.lower()}
            self._buckets.clear()
            self.buckets = dict(BUCKETS)
            self.enforce_rate_limits = False
            self.page_size = None
        for account in seed.cosmos_accounts:
            self.create_resource("cosmos", account, _material=self._seed_keys.get(("cosmos", account)))
        for kind, name, rule, local_auth in seed.key_resources:
            saved = self._seed_keys.get((kind, name))
            self.create_resource(kind, name, rule=rule, local_auth=local_auth, _material=saved)
            if rule is not None and saved is None:
                # Azure creates RootManageSharedAccessKey with every namespace.
                self.add_rule(kind, name, "RootManageSharedAccessKey")
        for resource in self.resources.values():
            self._seed_keys.setdefault((resource.kind.kind, resource.name), self._material(resource))
        # Mirrors the deployment (infra/app/resource-keys.bicep): one custom role with exactly the
        # key actions and read of the listed kinds, assigned on each listed resource; for a rule,
        # Reader on its namespace for the local-auth read. Cosmos keeps its built-in roles.
        kinds = sorted({k for k, *_ in seed.key_resources})
        actions = [p for k in kinds for p in KINDS[k].key_permissions]
        self.broker_role = self.rbac.define(
            BROKER_ROLE_NAME, actions, assignable_scopes=[f"/subscriptions/{seed.subscription_id}"]
        )
        for principal in (seed.sp_object_id, seed.system_mi_principal_id):
            self.grant_role(principal, "cosmos-orders", "DocumentDB Account Contributor")
            self.grant_role(principal, "cosmos-catalog", "Cosmos DB Account Reader Role")
            for kind, name, rule, _ in seed.key_resources:
                created = self.resource(kind, name)
                self.rbac.assign(principal, created.id, self.broker_role.id)
                if rule is not None:
                    self.rbac.assign(principal, created.top_id, "Reader")

    @staticmethod
    def _material(resource: Resource) -> dict[str, Any]:
        """A copy of the seed's key material: what a test adds to a resource is gone after reset()."""
        return copy.deepcopy({"keys": resource.keys, "rules": resource.rules})

    def create_resource(
        self,
        kind: str,
        name: str,
        *,
        rule: str | None = None,
        local_auth: bool = True,
        keys: dict[str, Any] | None = None,
        resource_group: str | None = None,
        subscription_id: str | None = None,
        _material: dict[str, Any] | None = None,
    ) -> Resource:
        """A resource of `kind` (replacing one of the same name); `keys` overrides the generated
        key material: for one-level kinds the fields the kind's answers read (e.g. {"key1","key2"}
        for storage), for Service Bus / Event Hubs {"primaryKey","secondaryKey"} of `rule`."""
        spec = _kind(kind)
        if not name or "/" in name:
            raise ValueError("name must be a non-empty resource name")
        two_level = len(spec.types) == 2
        if two_level and not rule:
            raise ValueError(f"{kind} needs `rule`: the authorization rule whose keys are listed")
        if not two_level and rule:
            raise ValueError(f"{kind} has no authorization rules")
        seed = self.ctx.seed
        resource = Resource(
            kind=spec,
            subscription_id=subscription_id or seed.subscription_id,
            resource_group=resource_group or seed.resource_group,
            name=name,
            location=seed.location,
            local_auth=bool(local_auth),
            rule=rule,
        )
        if _material is not None:  # the seed's keys, restored by reset()
            restored = copy.deepcopy(_material)
            resource.keys, resource.rules = restored["keys"], restored["rules"]
        elif two_level:
            resource.rules[str(rule)] = dict(keys) if keys is not None else sas_rule_keys()
        else:
            generated = spec.new_keys(resource)
            if keys is not None:
                unknown = set(keys) - set(generated)
                if unknown:
                    raise ValueError(f"unknown key fields {sorted(unknown)} for {kind}; one of {sorted(generated)}")
                generated.update(keys)
            resource.keys = generated
        with self.lock:
            self.resources[self._key(spec.kind, resource.subscription_id, resource.resource_group, name)] = resource
            self.resource_groups.add(resource.resource_group.lower())
        return resource

    def add_rule(self, kind: str, name: str, rule: str, *, resource_group: str | None = None) -> None:
        """Another authorization rule on a namespace (its keys listable through that rule's path)."""
        resource = self.resource(kind, name, resource_group=resource_group)
        with self.lock:
            resource.rules.setdefault(rule, sas_rule_keys())

    def resource(self, kind: str, name: str, *, resource_group: str | None = None) -> Resource:
        seed = self.ctx.seed
        key = self._key(_kind(kind).kind, seed.subscription_id, resource_group or seed.resource_group, name)
        with self.lock:
            found = self.resources.get(key)
            if found is None and resource_group is None:
                found = next((r for k, r in self.resources.items() if k[0] == kind and k[3] == name.lower()), None)
        if found is None:
            raise ValueError(f"no {kind} resource named {name!r}")
        return found

    def delete_resource(self, kind: str, name: str, *, resource_group: str | None = None) -> None:
        found = self.resource(kind, name, resource_group=resource_group)
        with self.lock:
            self.resources.pop(self._key(kind, found.subscription_id, found.resource_group, found.name), None)

    def set_local_auth(self, kind: str, name: str, enabled: bool, *, resource_group: str | None = None) -> None:
        """Local (key) authentication on or off, as the resource's own property says (SPEC table)."""
        found = self.resource(kind, name, resource_group=resource_group)
        with self.lock:
            found.local_auth = bool(enabled)

    def answer(self, kind: str, name: str, action: str, *, rule: str | None = None) -> Any:
        """The whole body `action` answers for the resource (unpaged), to compare with verbatim."""
        found = self.resource(kind, name)
        spec = found.kind.action(action)
        if spec is None:
            raise ValueError(f"{kind} has no action {action!r}; one of {[a.name for a in found.kind.actions]}")
        if rule is not None:
            found = _with_rule(found, rule)
        return spec.answer(found)

    def grant_permissions(
        self, kind: str, name: str, permissions: list[str], *, principal_id: str | None = None, namespace: bool = False
    ) -> RoleDefinition:
        """A custom role of exactly `permissions` assigned on the resource (its namespace with
        `namespace=True`) to `principal_id` (default: the app's service principal and the system
        identity, as seeded). E.g. only the key action, no read."""
        role = self.rbac.define(f"test role {new_id()}", permissions)
        for principal in self._principals(principal_id):
            self.assign_role(principal, role.id, kind=kind, name=name, namespace=namespace)
        return role

    def revoke_all(self, kind: str, name: str, *, principal_id: str | None = None) -> int:
        """Removes every assignment of the principal(s) on the resource and, for a rule, on its
        namespace (assignments at a resource group or subscription stay)."""
        found = self.resource(kind, name)
        scopes = {found.id.lower(), found.top_id.lower()}
        principals = {p.lower() for p in self._principals(principal_id)}
        with self.rbac.lock:
            before = len(self.rbac.assignments)
            self.rbac.assignments = [
                a
                for a in self.rbac.assignments
                if not (a.principal_id.lower() in principals and a.scope.lower() in scopes)
            ]
            return before - len(self.rbac.assignments)

    def _principals(self, principal_id: str | None) -> tuple[str, ...]:
        seed = self.ctx.seed
        return (principal_id,) if principal_id else (seed.sp_object_id, seed.system_mi_principal_id)

    def list_resources(self) -> list[Resource]:
        with self.lock:
            return list(self.resources.values())

    def secret_values(self) -> list[str]:
        """Every key string of every resource (for tests that look for leaks)."""
        return [value for resource in self.list_resources() for value in resource.secret_values()]

    @property
    def keys(self) -> dict[str, dict[str, str]]:
        """Cosmos DB keys by account name (the seeded accounts and any created)."""
        return {r.name: r.keys for r in self.list_resources() if r.kind.kind == "cosmos"}

    @staticmethod
    def _key(kind: str, subscription: str, group: str, name: str) -> tuple[str, str, str, str]:
        return (kind, subscription.lower(), group.lower(), name.lower())

    # ------------------------------------------------------------------ RBAC
    def assign_role(
        self,
        principal_id: str,
        role: str,
        *,
        scope: str | None = None,
        kind: str | None = None,
        name: str | None = None,
        namespace: bool = False,
    ) -> str:
        """Role assignment at `scope`, or on the resource `kind`/`name` (its namespace with
        `namespace=True`); `role` is a role name, definition GUID or definition ID. Returns its ID."""
        return self.rbac.assign(principal_id, self._scope(scope, kind, name, namespace), role).id

    def unassign_role(
        self,
        principal_id: str,
        role: str,
        *,
        scope: str | None = None,
        kind: str | None = None,
        name: str | None = None,
        namespace: bool = False,
    ) -> int:
        return self.rbac.unassign(principal_id, self._scope(scope, kind, name, namespace), role)

    def _scope(self, scope: str | None, kind: str | None, name: str | None, namespace: bool) -> str:
        if scope is not None:
            if kind is not None or name is not None:
                raise ValueError("give either scope or kind and name")
            return scope
        if kind is None or name is None:
            raise ValueError("give scope, or kind and name")
        found = self.resource(kind, name)
        return found.top_id if namespace else found.id

    def grant_role(self, principal_id: str, account_name: str, role_name: str) -> None:
        """A role on a Cosmos DB account in the seed resource group (the original API)."""
        self.rbac.assign(principal_id, self.ctx.seed.cosmos_account_id(account_name), role_name)

    def revoke_role(self, principal_id: str, account_name: str, role_name: str) -> None:
        self.rbac.unassign(principal_id, self.ctx.seed.cosmos_account_id(account_name), role_name)

    # ------------------------------------------------------------------ HTTP
    def handle(self, request: Request) -> Response:
        resolved = self._resolve(request)
        if isinstance(resolved, Response):
            return resolved
        target, action, operation = resolved
        return self.run(operation, request, lambda: self._serve(request, target, action))

    def _resolve(self, request: Request) -> tuple[_Target, KeyAction | None, str] | Response:
        match = _PATH.fullmatch(request.path)
        parts = match.group(4).split("/") if match else []
        if match is None or not 2 <= len(parts) <= 5 or any(not p for p in parts):
            # [U] ARM's answer for an unknown route (InvalidResourceType wording simplified).
            return _error(404, "InvalidResourceType", "The resource type could not be found.")
        types = tuple(parts[0 : 4 if len(parts) >= 4 else 2 : 2])
        kind = kind_for_path(match.group(3), types)
        if kind is None or (len(parts) >= 4 and len(kind.types) == 1):
            return _error(
                404,
                "InvalidResourceType",
                f"The resource type '{'/'.join(types)}' could not be found in the namespace "
                f"'{match.group(3)}' for api version '{request.query.get('api-version', '')}'.",
            )
        target = _Target(match, kind, parts)
        if target.action_name is None:
            if request.method != "GET":
                return _method_not_allowed(request)
            return target, None, kind.read_operation
        action = kind.action(target.action_name)
        if action is None or (len(kind.types) == 2 and target.level == 1):
            return _error(
                404,
                "InvalidResourceType",
                f"The resource type '{target.type_path}/{target.action_name}' could not be found in the namespace "
                f"'{kind.provider}' for api version '{request.query.get('api-version', '')}'.",
            )
        if request.method not in action.methods:
            return _method_not_allowed(request)
        return target, action, action.operation

    def fault_response(self, operation: str, status: int, request: Request) -> Response:
        if status == 429:
            kind = "read" if request.method == "GET" else "write"
            return _error(429, "SubscriptionRequestsThrottled", self._throttle_message(kind, request))
        if status == 401:  # a token ARM no longer accepts (revoked, CAE)
            return self._unauthorized(TokenError("invalid"), request)
        codes = {500: "InternalServerError", 502: "BadGateway", 503: "ServiceUnavailable", 504: "GatewayTimeout"}
        return _error(status, codes.get(status, "Error"), "Injected fault.")  # [U] wording

    def _throttle_message(self, kind: str, request: Request, seconds: int = 1) -> str:
        # [O] velero-io/velero#9171
        return (
            f"Number of '{kind}' requests for subscription '{self.ctx.seed.subscription_id}' actor "
            f"'{self._actor(request)}' exceeded. Please try again after '{seconds}' seconds after additional "
            "tokens are available. Refer to https://aka.ms/arm-throttling for additional information."
        )

    def _actor(self, request: Request) -> str:
        try:
            return str(self.ctx.tokens.validate(request.bearer(), audiences=audiences(self.ctx, ARM)).get("oid"))
        except TokenError:
            return "unknown"

    def _unauthorized(self, exc: TokenError, request: Request) -> Response:
        """401s as ARM gives them ([U] codes: AZURE-PROTOCOLS.md 5 lists the names)."""
        claims = exc.claims
        tid = self.ctx.seed.tenant_id
        if exc.reason == "missing":
            code, message = "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing."
        elif exc.reason == "expired":
            exp = dt.datetime.fromtimestamp(float(claims.get("exp", 0)), dt.UTC)
            now = dt.datetime.now(dt.UTC)
            code = "ExpiredAuthenticationToken"
            message = (
                f"The access token expiry UTC time '{exp:%m/%d/%Y %I:%M:%S %p}' is earlier than current "
                f"UTC time '{now:%m/%d/%Y %I:%M:%S %p}'."
            )
        elif exc.reason == "audience":
            allowed = ",".join(f"'{aud}'" for aud in sorted(audiences(self.ctx, ARM)))
            code = "InvalidAuthenticationTokenAudience"
            message = (
                f"The access token has been obtained for wrong audience or resource '{claims.get('aud')}'. "
                f"It should exactly match with one of the allowed audiences {allowed}."
            )
        elif exc.reason == "issuer":
            code = "InvalidAuthenticationTokenTenant"
            message = (
                f"The access token is from the wrong issuer '{claims.get('iss')}'. It must match the tenant "
                f"'https://sts.windows.net/{tid}/' associated with this subscription. Please use the "
                f"authority (URL) '{self.ctx.url('login')}/{tid}' to get the token."
            )
        else:
            code, message = "InvalidAuthenticationToken", "The access token is invalid."
        challenge = (
            f'Bearer authorization_uri="{self.ctx.url("login")}/{tid}", error="invalid_token", '
            f'error_description="{message.split(".")[0]}."'
        )
        return _error(401, code, message, {"WWW-Authenticate": challenge})

    def _take_token(self, oid: str, bucket: str) -> tuple[int, int | None]:
        """(remaining after this request, Retry-After seconds when the bucket was empty)."""
        capacity, refill = self.buckets[bucket]
        now = time.monotonic()
        with self.lock:
            tokens, last = self._buckets.get((oid, bucket), (capacity, now))
            tokens = min(capacity, tokens + (now - last) * refill)
            if tokens < 1:
                self._buckets[(oid, bucket)] = (tokens, now)
                return 0, max(1, math.ceil((1 - tokens) / refill))
            tokens -= 1
            self._buckets[(oid, bucket)] = (tokens, now)
        return int(tokens), None

    def _serve(self, request: Request, target: _Target, action: KeyAction | None) -> Response:
        try:
            claims = self.ctx.tokens.validate(
                request.bearer(),
                audiences=audiences(self.ctx, ARM),
                issuers=(self.ctx.tokens.v1_issuer(), self.ctx.tokens.v2_issuer()),
            )
        except TokenError as exc:
            return self._unauthorized(exc, request)
        seed, kind = self.ctx.seed, target.kind
        refused = self._check_api_version(request.query.get("api-version"), kind, target)
        if refused is not None:
            return refused
        oid = str(claims.get("oid", ""))
        if action is not None:
            permission = action.permission
        else:
            permission = kind.read_permission if target.level == 1 else kind.child_read_permission
        allowed = target.subscription.lower() == seed.subscription_id.lower() and self.rbac.allowed(
            oid, permission, target.scope
        )
        # ARM authorizes before the resource provider looks the resource up, so a resource the
        # caller has no role on is a 403 even when it does not exist.
        if not allowed:
            return _error(
                403,
                "AuthorizationFailed",  # [O] MicrosoftDocs/azure-docs#66187
                f"The client '{oid}' with object id '{oid}' does not have authorization to perform "
                f"action '{permission}' over scope '{target.scope}' or the scope is invalid. If access was "
                "recently granted, please refresh your credentials.",
            )
        write = request.method != "GET"
        bucket = "writes" if write else "reads"
        remaining, retry_after = self._take_token(oid, bucket)
        if retry_after is not None and self.enforce_rate_limits:
            return _error(
                429,
                "SubscriptionRequestsThrottled",
                self._throttle_message("write" if write else "read", request, retry_after),
                {"Retry-After": str(retry_after), f"x-ms-ratelimit-remaining-subscription-{bucket}": "0"},
            )
        with self.lock:
            if target.group.lower() not in self.resource_groups:
                return _error(404, "ResourceGroupNotFound", f"Resource group '{target.group}' could not be found.")
            found = self.resources.get(self._key(kind.kind, target.subscription, target.group, target.name))
        if found is None:
            if target.level == 2:
                return _error(
                    404,
                    "ParentResourceNotFound",
                    "Can not perform requested operation on nested resource. Parent resource "
                    f"'{target.name}' not found.",
                )
            return self._not_found(f"{kind.provider}/{kind.types[0]}/{target.name}", target.group)
        if target.level == 2:
            rule_keys = found.rule_keys(str(target.rule))
            if rule_keys is None:
                return self._not_found(
                    f"{kind.provider}/{kind.types[0]}/{target.name}/{kind.types[1]}/{target.rule}", target.group
                )
            rule_name = next(k for k in found.rules if k.lower() == str(target.rule).lower())
            found = _with_rule(found, rule_name)
        body: Any
        if action is not None:
            body = action.answer(found)
            if isinstance(body, dict) and "nextLink" in body and isinstance(body.get("value"), list):
                paged = self._page(request, body)
                if isinstance(paged, Response):
                    return paged
                body = paged
        elif target.level == 2 and kind.child_get_body is not None:
            body = kind.child_get_body(found)
        else:
            body = kind.get_body(found)
        request_id = new_id()
        headers = {
            "Cache-Control": "no-cache",
            "Pragma": "no-cache",
            "Expires": "-1",
            "x-ms-request-id": request_id,
            "x-ms-correlation-request-id": request_id,
            "x-ms-routing-request-id": f"{seed.location.upper()}:{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}:"
            f"{request_id}",
            f"x-ms-ratelimit-remaining-subscription-{bucket}": str(remaining),
        }
        return json_response(200, body, headers=headers)

    def _page(self, request: Request, body: dict[str, Any]) -> dict[str, Any] | Response:
        """One page of a `{"value", "nextLink"}` answer; the next page is the same POST with
        `$skipToken` (App Configuration's list-keys reference; Search links the same way)."""
        token = request.query.get("$skipToken")
        start = 0
        if token is not None:
            if not token.isdigit() or int(token) > len(body["value"]):
                return _error(400, "InvalidSkipToken", f"The skip token '{token}' is invalid.")  # [U] wording
            start = int(token)
        if self.page_size is None:
            return body if token is None else {**body, "value": body["value"][start:]}
        end = start + self.page_size
        next_link = None
        if end < len(body["value"]):
            api_version = request.query.get("api-version", "")
            next_link = f"{request.url}?api-version={api_version}&$skipToken={end}"
        return {**body, "value": body["value"][start:end], "nextLink": next_link}

    def _check_api_version(self, api_version: str | None, kind: ResourceKind, target: _Target) -> Response | None:
        versions = kind.api_versions
        if not api_version:
            # [O] MicrosoftDocs/feedback#2279
            return _error(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        if api_version in versions:
            return None
        if not _API_VERSION.fullmatch(api_version):
            return _error(
                400,
                "InvalidApiVersionParameter",
                f"The api-version '{api_version}' is invalid. The supported versions are '{','.join(versions)}'.",
            )
        location = self.ctx.seed.location
        return _error(
            400,
            "NoRegisteredProviderFound",
            f"No registered resource provider found for location '{location}' and API version "
            f"'{api_version}' for type '{target.type_path}'. The supported api-versions are "
            f"'{', '.join(versions)}'. The supported locations are '{location}'.",
        )

    def _not_found(self, resource: str, group: str) -> Response:
        return _error(
            404,
            "ResourceNotFound",
            f"The Resource '{resource}' under resource group '{group}' was not found. For more details please "
            "go to https://aka.ms/ARMResourceNotFoundFix",
        )


def _with_rule(resource: Resource, rule: str) -> Resource:
    """The namespace seen through one of its rules (the rule's keys are what listKeys answers)."""
    return replace(resource, rule=rule)


def _kind(kind: str) -> ResourceKind:
    try:
        return KINDS[kind]
    except KeyError:
        raise ValueError(f"unknown kind {kind!r}; one of {sorted(KINDS)}") from None


def _method_not_allowed(request: Request) -> Response:
    return _error(405, "MethodNotAllowed", f"The requested resource does not support http method '{request.method}'.")
