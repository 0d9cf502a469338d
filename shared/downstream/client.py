"""HTTP client for one Entra-protected API (ARM, Graph): bearer token, timeouts, bounded retries.

One ``requests`` session per API for the life of the process (connection pooling). Proxies and
TLS trust follow the environment as ``requests`` reads it, read once (``upstream.session``). A
401 for a token the cache still held (revoked, or a CAE claims challenge) drops that token and retries once.

The token goes only to the API's own origin: each request is prepared first, and the prepared
URL — exactly what urllib3 will connect to — must have the API's scheme, host and port and no
userinfo, backslash, whitespace or control character (``shared.upstream.origins``); redirects are never
followed. A link from the API (Graph's ``@odata.nextLink``) must also stay on the path being
paged. A link that fails this is a 502.
"""

from __future__ import annotations

import contextlib
import functools
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util import parse_url

from ..credential_chain import TokenProvider, claims_from_challenge
from ..errors import BadRequest, Upstream, UpstreamFailed
from ..upstream import (
    Hints,
    UnsafeUrl,
    begin_requests_call,
    connection_origin,
    from_requests_error,
    from_requests_response,
    non_idempotent,
    origin,
    remaining,
    requests_attempt_raised,
    requests_hook,
    session_for,
    urllib3_retry,
)

_MIN_ATTEMPT_SECONDS = 0.5
# The same verdict for the same URL, without re-parsing it twice per request: every warm ARM call
# prepares the identical URL. A refusal raises and so is never remembered.
_connection_origin = functools.lru_cache(maxsize=256)(connection_origin)


class DownstreamClient:
    def __init__(
        self,
        *,
        base_url: str,
        scope: str,
        tokens: TokenProvider,
        upstream: Upstream,
        timeout_seconds: float,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._origin = origin(self.base_url)
        self._scope = scope
        self._tokens = tokens
        self._upstream = upstream
        self._timeout_seconds = timeout_seconds
        self._session = session_for(self._origin)
        adapter = HTTPAdapter(
            max_retries=urllib3_retry(timeout_seconds, upstream=str(upstream)), pool_connections=2, pool_maxsize=32
        )
        self._session.mount("https://", adapter)
        self._session.hooks["response"].append(requests_hook(str(upstream)))
        # What Session.request would merge per call; with trust_env off it is the session's own
        # proxies and CA bundle for this one origin, so it is worked out once.
        self._send_settings = self._session.merge_environment_settings(self.base_url, {}, None, None, None)

    def _timeout(self) -> float:
        left = remaining()
        if left is None:
            return self._timeout_seconds
        return max(min(self._timeout_seconds, left), _MIN_ATTEMPT_SECONDS)

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        action: str,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        hints: Hints | None = None,
        bad_request_is_callers: bool = False,
        link_path: str | None = None,
        idempotent: bool = True,
        tokens: TokenProvider | None = None,
    ) -> Any:
        """Call the API and return its JSON body (``None`` for 204); any non-2xx becomes a ProblemError.

        ``json``: a request body, sent as ``application/json`` (Graph actions such as ``addKey``).

        ``bad_request_is_callers``: the caller's input went to the upstream as is (Graph ``$select``),
        so an upstream 400 is the caller's 400, not a 502.

        ``idempotent=False``: a write that must not be resent blindly (see ``retry.non_idempotent``).

        ``tokens``: another tenant's token provider (a customer tenant's Graph); default the home tenant's.

        ``link_path``: ``path_or_url`` is a link the API returned (a page's ``@odata.nextLink``); it
        is followed only if it stays on this path, so a forged link on the API's own origin cannot
        make the function read another resource with its token (e.g. ``/v1.0/applications``).
        """
        # A path ("/v1.0/users") is the API's own; anything else (a link the API returned) is
        # judged as the absolute URL it claims to be — "//host/..." included.
        is_path = path_or_url.startswith("/") and not path_or_url.startswith("//")
        url = self.base_url + path_or_url if is_path else path_or_url
        tokens = tokens or self._tokens
        for attempt in (1, 2):
            prepared = self._prepare(method, url, params=params, json=json, action=action, link_path=link_path)
            token = tokens.get(self._scope)
            prepared.headers["Authorization"] = f"Bearer {token.token}"
            begin_requests_call()
            try:
                with non_idempotent() if not idempotent else contextlib.nullcontext():
                    response = self._session.send(
                        prepared,
                        timeout=self._timeout(),
                        # A redirect would take the request (and, on the same host, the token) elsewhere.
                        allow_redirects=False,
                        **self._send_settings,
                    )
            except requests.RequestException as exc:
                requests_attempt_raised(str(self._upstream), method, url, exc)
                raise from_requests_error(
                    exc, self._upstream, action=action, target=self._target(method, url)
                ) from None
            if response.status_code == 401 and attempt == 1:
                claims = claims_from_challenge(response.headers.get("WWW-Authenticate"))
                tokens.invalidate(self._scope, token.token, claims=claims)
                continue
            if response.status_code == 204:
                return None
            if 200 <= response.status_code < 300:
                try:
                    return response.json()
                except ValueError:
                    detail = f"{self._upstream} answered {action} with a body that is not JSON."
                    target = self._target(method, url)
                    raise UpstreamFailed(detail, upstream=self._upstream, log_hint=f"{detail} [{target}]") from None
            target = self._target(method, url)
            problem = from_requests_response(response, self._upstream, action=action, hints=hints, target=target)
            if bad_request_is_callers and response.status_code == 400:
                raise BadRequest(
                    f"{self._upstream} rejected the query while {action}: {_upstream_message(response)}",
                    upstream=self._upstream,
                    code=problem.code,
                )
            raise problem
        raise AssertionError("unreachable")  # pragma: no cover

    def _target(self, method: str, url: str) -> str:
        """What was called, for the operator's hint only (composed on failure, not per request): an ARM
        path names the subscription, resource group and resource; a Graph path an object ID. Never the
        query (paging tokens)."""
        return f"{method} {self._origin}{urlsplit(url).path}"

    def _prepare(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None,
        json: Any,
        action: str,
        link_path: str | None = None,
    ) -> requests.PreparedRequest:
        """The request exactly as it will be sent, refused unless it connects to the API's own origin."""
        refusal = f"{self._upstream} returned a link the function refuses to follow during {action}"
        try:
            prepared = self._session.prepare_request(
                requests.Request(
                    method,
                    url,
                    params=params,
                    json=json,
                    headers={"Accept": "application/json", "x-ms-client-request-id": str(uuid.uuid4())},
                )
            )
            # Both the link as given and as prepared: requests percent-encodes a raw CR/LF or space,
            # which would hide them from a check of the prepared URL alone.
            _connection_origin(url)
            connects_to = _connection_origin(prepared.url or "")
        except (UnsafeUrl, requests.RequestException, ValueError) as exc:
            # Never send the bearer token anywhere but the API's own origin (e.g. a forged nextLink).
            reason = str(exc) if isinstance(exc, UnsafeUrl) else "it is not a valid URL"
            raise UpstreamFailed(f"{refusal}: {reason}.", upstream=self._upstream) from None
        if connects_to != self._origin:
            raise UpstreamFailed(f"{refusal}: it leads to another origin.", upstream=self._upstream)
        if link_path is not None:
            # The path as given and as urllib3 will send it (which resolves dot segments) must both be
            # the paged resource's own; Graph's paths are case-insensitive.
            # (An endpoint override may carry a base path: the link stays under it too.)
            expected = (urlsplit(self.base_url).path.rstrip("/") + link_path).lower()
            paths = {urlsplit(url).path.lower(), (parse_url(prepared.url or "").path or "").lower()}
            if paths != {expected}:
                raise UpstreamFailed(
                    f"{refusal}: it leads to another resource than {link_path}.", upstream=self._upstream
                )
        return prepared

    def close(self) -> None:
        self._session.close()


def _upstream_message(response: requests.Response) -> str:
    """Graph's own explanation of a 400: it names the caller's own bad input (e.g. a property)."""
    try:
        message = response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return "the request was invalid."
    return str(message)[:300]
