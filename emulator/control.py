# The emulator's own control API for out-of-process users (`make demo`, benchmarks):
# docs/emulator.md "Control API". Not an Azure surface: JSON in and out, no auth, 127.0.0.1 only.
from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any, Protocol

from emulator.arm import ArmSurface
from emulator.entra import EntraSurface
from emulator.eventgrid import EventGrid
from emulator.faults import Counters, Faults
from emulator.graph import GraphSurface
from emulator.httpd import Request, Response, json_response
from emulator.keyvault import KeyVaultSurface
from emulator.surface import Context, Surface

_FAULT_FIELDS = ("status", "retry_after", "delay", "times", "after")
_TOKEN_FIELDS = ("audience", "roles", "app_id", "issuer", "expires_in", "not_before", "signing_key", "alg", "kid",
                 "tenant_id", "user", "scopes", "idtyp", "user_object_id")  # fmt: skip
_SIGNING_KEY_FIELDS = ("kid",)
_ROTATE_FIELDS = ("name", "register", "enabled", "not_before", "expires_on", "publish", "created", "exportable",
                  "imported")  # fmt: skip
_KEY_CREDENTIAL_FIELDS = ("key_id", "display_name")
_TENANT_FIELDS = ("tenant_id", "display_name", "domain", "user_count")
_CONSENT_FIELDS = ("tenant_id", "roles", "app_id")
_APPLICATION_FIELDS = ("sign_in_audience", "app_id")
_EVENT_FIELDS = ("event_type", "version", "name", "publish")
_RESOURCE_FIELDS = ("kind", "name", "rule", "local_auth", "keys", "resource_group")
_RESOURCE_REF_FIELDS = ("kind", "name", "resource_group")
_ROLE_DEFINITION_FIELDS = ("name", "actions", "not_actions", "assignable_scopes", "role_id")
_ROLE_ASSIGNMENT_FIELDS = ("principal_id", "role", "scope", "kind", "name", "namespace")
_SUBSCRIPTION_FIELDS = ("host_base_url", "function_name", "master_key", "event_types", "subject",
                        "subject_begins_with", "subject_ends_with", "name", "validate")  # fmt: skip


class Controlled(Protocol):
    """What the control API drives (the `Emulator`; named here so control.py imports no core)."""

    context: Context
    arm: ArmSurface
    entra: EntraSurface
    keyvault: KeyVaultSurface
    graph: GraphSurface
    eventgrid: EventGrid

    @property
    def counters(self) -> Counters: ...

    @property
    def faults(self) -> Faults: ...

    def env_for(self, mode: str) -> dict[str, str]: ...

    def reset(self) -> None: ...


class ControlSurface(Surface):
    name = "control"

    def __init__(self, emulator: Controlled) -> None:
        super().__init__(emulator.context)
        self.emulator = emulator
        self._routes: dict[tuple[str, str], Callable[[Request], Response]] = {
            ("GET", "/_emulator/env"): lambda r: json_response(
                200, self.emulator.env_for(r.query.get("mode", "keyvault"))
            ),
            ("GET", "/_emulator/counters"): lambda r: json_response(200, self.emulator.counters.snapshot()),
            ("POST", "/_emulator/faults"): self._inject,
            ("DELETE", "/_emulator/faults"): self._clear_faults,
            ("POST", "/_emulator/reset"): self._reset,
            ("POST", "/_emulator/caller-token"): self._caller_token,
            ("POST", "/_emulator/entra/signing-keys"): lambda r: json_response(
                201, {"kid": self.emulator.entra.add_signing_key()}
            ),
            ("DELETE", "/_emulator/entra/signing-keys"): lambda r: json_response(
                200, {"kid": self.emulator.entra.withdraw_signing_key(**self._body(r, _SIGNING_KEY_FIELDS))}
            ),
            ("POST", "/_emulator/keyvault/rotate"): self._rotate,
            ("POST", "/_emulator/keyvault/events"): self._key_vault_event,
            ("POST", "/_emulator/eventgrid/subscriptions"): self._subscribe,
            ("DELETE", "/_emulator/eventgrid/subscriptions"): self._unsubscribe_all,
            ("GET", "/_emulator/eventgrid/deliveries"): lambda r: json_response(
                200, [dataclasses.asdict(d) for d in self.emulator.eventgrid.deliveries()]
            ),
            ("GET", "/_emulator/graph/key-credentials"): lambda r: json_response(
                200, self.emulator.graph.key_credentials()
            ),
            ("PATCH", "/_emulator/graph/key-credentials"): self._update_key_credential,
            ("GET", "/_emulator/arm/resources"): self._list_resources,
            ("POST", "/_emulator/arm/resources"): self._create_resource,
            ("PATCH", "/_emulator/arm/resources"): self._update_resource,
            ("DELETE", "/_emulator/arm/resources"): self._delete_resource,
            ("POST", "/_emulator/arm/role-definitions"): self._define_role,
            ("POST", "/_emulator/arm/role-assignments"): self._assign_role,
            ("DELETE", "/_emulator/arm/role-assignments"): self._unassign_role,
            ("PATCH", "/_emulator/arm/settings"): self._arm_settings,
            ("PATCH", "/_emulator/application"): self._update_application,
            ("POST", "/_emulator/tenants"): self._add_tenant,
            ("POST", "/_emulator/tenants/consent"): self._consent,
            ("DELETE", "/_emulator/tenants/consent"): self._revoke_consent,
            ("GET", "/_emulator/otlp/traces"): lambda r: json_response(200, self.emulator.otlp.received("traces")),
            ("GET", "/_emulator/otlp/metrics"): lambda r: json_response(200, self.emulator.otlp.received("metrics")),
            ("GET", "/_emulator/otlp/logs"): lambda r: json_response(200, self.emulator.otlp.received("logs")),
            ("GET", "/_emulator/otlp"): lambda r: json_response(200, self.emulator.otlp.exports()),
            ("DELETE", "/_emulator/otlp"): self._clear_otlp,
        }

    def handle(self, request: Request) -> Response:
        handler = self._routes.get((request.method, request.path))
        if handler is None:
            return json_response(404, {"error": f"no route {request.method} {request.path}"})
        try:
            return handler(request)
        except (ValueError, TypeError, KeyError) as exc:
            return json_response(400, {"error": str(exc)})

    def fault_response(self, operation: str, status: int, request: Request) -> Response:
        return json_response(status, {"error": "fault"})  # the control API is never faulted

    def _body(self, request: Request, allowed: tuple[str, ...] | None = None) -> dict[str, Any]:
        body = json.loads(request.body or b"{}")
        if not isinstance(body, dict):
            raise ValueError("body must be a JSON object")
        unknown = set(body) - set(allowed or body)
        if unknown:
            raise ValueError(f"unknown fields {sorted(unknown)}")
        return body

    # ------------------------------------------------------------------ ARM resources and RBAC
    @staticmethod
    def _resource_json(resource: Any) -> dict[str, Any]:
        return {
            "kind": resource.kind.kind,
            "name": resource.name,
            "rule": resource.rule,
            "id": resource.id,
            "resourceGroup": resource.resource_group,
            "localAuth": resource.local_auth,
        }

    def _list_resources(self, request: Request) -> Response:
        return json_response(200, [self._resource_json(r) for r in self.emulator.arm.list_resources()])

    def _create_resource(self, request: Request) -> Response:
        body = self._body(request, _RESOURCE_FIELDS)
        kind, name = body.pop("kind"), body.pop("name")
        return json_response(201, self._resource_json(self.emulator.arm.create_resource(kind, name, **body)))

    def _update_resource(self, request: Request) -> Response:
        """Local authentication on or off: {"kind", "name", "local_auth": bool}."""
        body = self._body(request, (*_RESOURCE_REF_FIELDS, "local_auth"))
        if not isinstance(body.get("local_auth"), bool):
            raise ValueError("local_auth (true or false) is required")
        arm = self.emulator.arm
        group = body.get("resource_group")
        arm.set_local_auth(body["kind"], body["name"], body["local_auth"], resource_group=group)
        return json_response(200, self._resource_json(arm.resource(body["kind"], body["name"], resource_group=group)))

    def _delete_resource(self, request: Request) -> Response:
        body = self._body(request, _RESOURCE_REF_FIELDS)
        self.emulator.arm.delete_resource(body["kind"], body["name"], resource_group=body.get("resource_group"))
        return Response(204)

    def _define_role(self, request: Request) -> Response:
        body = self._body(request, _ROLE_DEFINITION_FIELDS)
        definition = self.emulator.arm.rbac.define(body.pop("name"), body.pop("actions"), **body)
        return json_response(201, {"id": definition.id, "name": definition.name})

    def _assign_role(self, request: Request) -> Response:
        body = self._body(request, _ROLE_ASSIGNMENT_FIELDS)
        assignment_id = self.emulator.arm.assign_role(body.pop("principal_id"), body.pop("role"), **body)
        return json_response(201, {"id": assignment_id})

    def _unassign_role(self, request: Request) -> Response:
        body = self._body(request, _ROLE_ASSIGNMENT_FIELDS)
        removed = self.emulator.arm.unassign_role(body.pop("principal_id"), body.pop("role"), **body)
        return json_response(200, {"removed": removed})

    def _arm_settings(self, request: Request) -> Response:
        """{"enforce_rate_limits": bool, "page_size": int | null}: either or both."""
        body = self._body(request, ("enforce_rate_limits", "page_size"))
        arm = self.emulator.arm
        if "enforce_rate_limits" in body:
            if not isinstance(body["enforce_rate_limits"], bool):
                raise ValueError("enforce_rate_limits must be true or false")
            arm.enforce_rate_limits = body["enforce_rate_limits"]
        if "page_size" in body:
            size = body["page_size"]
            if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 1):
                raise ValueError("page_size must be a positive integer or null")
            arm.page_size = size
        return json_response(200, {"enforce_rate_limits": arm.enforce_rate_limits, "page_size": arm.page_size})

    def _update_key_credential(self, request: Request) -> Response:
        """A key credential's displayName changed (e.g. the demo back-dates the rollover's record)."""
        body = self._body(request, _KEY_CREDENTIAL_FIELDS)
        self.emulator.directory.update_key_credential(body["key_id"], display_name=body["display_name"])
        return Response(204)

    def _update_application(self, request: Request) -> Response:
        """The app registration's signInAudience (AzureADMyOrg, AzureADMultipleOrgs)."""
        body = self._body(request, _APPLICATION_FIELDS)
        self.emulator.directory.set_sign_in_audience(body["sign_in_audience"], app_id=body.get("app_id"))
        return Response(204)

    def _add_tenant(self, request: Request) -> Response:
        """A customer directory (with generated users); the app has no service principal there yet."""
        tenant_id = self.emulator.directory.add_tenant(**self._body(request, _TENANT_FIELDS))
        return json_response(201, {"tenant_id": tenant_id})

    def _consent(self, request: Request) -> Response:
        """The customer's administrator consents: the app's service principal there, with `roles`."""
        body = self._body(request, _CONSENT_FIELDS)
        tenant_id = body.pop("tenant_id")
        object_id = self.emulator.directory.consent(tenant_id, **body)
        return json_response(201, {"tenant_id": tenant_id, "service_principal_id": object_id})

    def _revoke_consent(self, request: Request) -> Response:
        """The customer deletes the enterprise application (service principal) in their tenant."""
        body = self._body(request, ("tenant_id", "app_id"))
        self.emulator.directory.revoke_consent(body.pop("tenant_id"), **body)
        return Response(204)

    def _rotate(self, request: Request) -> Response:
        """A renewal (or manual rotation) in Key Vault; Event Grid delivers as subscribed."""
        version = self.emulator.keyvault.rotate_certificate(**self._body(request, _ROTATE_FIELDS))
        return json_response(201, {"version": version})

    def _key_vault_event(self, request: Request) -> Response:
        """The event Key Vault would send for a version; published unless "publish": false."""
        body = self._body(request, _EVENT_FIELDS)
        publish = body.pop("publish", True)
        event_type = body.pop("event_type")
        keyvault = self.emulator.keyvault
        event = (keyvault.publish_event if publish else keyvault.certificate_event)(event_type, **body)
        return json_response(202 if publish else 200, event)

    def _subscribe(self, request: Request) -> Response:
        body = self._body(request, _SUBSCRIPTION_FIELDS)
        subscription = self.emulator.eventgrid.subscribe(
            body.pop("host_base_url"), body.pop("function_name"), body.pop("master_key"), **body
        )
        return json_response(201, {"name": subscription.name})

    def _unsubscribe_all(self, request: Request) -> Response:
        for subscription in self.emulator.eventgrid.subscriptions():
            self.emulator.eventgrid.unsubscribe(subscription.name)
        return Response(204)

    def _inject(self, request: Request) -> Response:
        body = self._body(request, ("operation", *_FAULT_FIELDS))
        operation = body.pop("operation")
        self.emulator.faults.inject(operation, **body)
        return json_response(201, {"operation": operation, **body})

    def _clear_faults(self, request: Request) -> Response:
        self.emulator.faults.clear()
        return Response(204)

    def _clear_otlp(self, request: Request) -> Response:
        self.emulator.otlp.reset()
        return Response(204)

    def _reset(self, request: Request) -> Response:
        self.emulator.reset()
        return Response(204)

    def _caller_token(self, request: Request) -> Response:
        token = self.emulator.entra.mint_caller_token(**self._body(request, _TOKEN_FIELDS))
        return json_response(
            200, {"access_token": token, "token_type": "Bearer"}, headers={"Cache-Control": "no-store"}
        )
