# The emulator's own control API for out-of-process users (`make demo`, benchmarks):
# docs/emulator.md "Control API". Not an Azure surface: JSON in and out, no auth, 127.0.0.1 only.
from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from emulator.httpd import Request, Response, json_response
from emulator.surface import Surface

if TYPE_CHECKING:
    from emulator.core import Emulator

_FAULT_FIELDS = ("status", "retry_after", "delay", "times")
_TOKEN_FIELDS = ("audience", "roles", "app_id", "issuer", "expires_in", "not_before", "signing_key", "alg", "kid",
                 "tenant_id")  # fmt: skip


class ControlSurface(Surface):
    name = "control"

    def __init__(self, emulator: Emulator) -> None:
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

    def _body(self, request: Request) -> dict[str, Any]:
        body = json.loads(request.body or b"{}")
        if not isinstance(body, dict):
            raise ValueError("body must be a JSON object")
        return body

    def _inject(self, request: Request) -> Response:
        body = self._body(request)
        operation = body.pop("operation")
        unknown = set(body) - set(_FAULT_FIELDS)
        if unknown:
            raise ValueError(f"unknown fields {sorted(unknown)}")
        self.emulator.faults.inject(operation, **body)
        return json_response(201, {"operation": operation, **body})

    def _clear_faults(self, request: Request) -> Response:
        self.emulator.faults.clear()
        return Response(204)

    def _reset(self, request: Request) -> Response:
        self.emulator.reset()
        return Response(204)

    def _caller_token(self, request: Request) -> Response:
        body = self._body(request)
        unknown = set(body) - set(_TOKEN_FIELDS)
        if unknown:
            raise ValueError(f"unknown fields {sorted(unknown)}")
        token = self.emulator.entra.mint_caller_token(**body)
        return json_response(
            200, {"access_token": token, "token_type": "Bearer"}, headers={"Cache-Control": "no-store"}
        )
