"""HTTP client for one Entra-protected API (ARM, Graph): bearer token, timeouts, bounded retries.

One ``requests`` session per API for the life of the process (connection pooling). TLS trust
follows ``REQUESTS_CA_BUNDLE`` / ``SSL_CERT_FILE`` as ``requests`` reads them. A 401 for a token
the cache still held (revoked, or a CAE claims challenge) drops that token and retries once.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from .errors import BadRequest, Upstream, UpstreamFailed
from .retry import remaining, urllib3_retry
from .settings import origin
from .token_provider import TokenProvider, claims_from_challenge
from .upstream_errors import from_requests_error, from_requests_response
from .upstream_logging import requests_hook

_MIN_ATTEMPT_SECONDS = 0.5


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
        self._session = requests.Session()
        adapter = HTTPAdapter(max_retries=urllib3_retry(timeout_seconds), pool_connections=2, pool_maxsize=32)
        self._session.mount("https://", adapter)
        self._session.hooks["response"].append(requests_hook(str(upstream)))

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
        hints: Mapping[int, str] | None = None,
        bad_request_is_callers: bool = False,
    ) -> Any:
        """Call the API and return its JSON body (``None`` for 204); any non-2xx becomes a ProblemError.

        ``json``: a request body, sent as ``application/json`` (Graph actions such as ``addKey``).

        ``bad_request_is_callers``: the caller's input went to the upstream as is (Graph ``$select``),
        so an upstream 400 is the caller's 400, not a 502.
        """
        url = path_or_url if "://" in path_or_url else self.base_url + path_or_url
        if origin(url) != self._origin:
            # Never send the bearer token to a host other than the API's own (e.g. a forged nextLink).
            raise UpstreamFailed(
                f"{self._upstream} returned a link to another host during {action}.", upstream=self._upstream
            )
        for attempt in (1, 2):
            token = self._tokens.get(self._scope)
            try:
                response = self._session.request(
                    method,
                    url,
                    params=params,
                    json=json,
                    headers={
                        "Authorization": f"Bearer {token.token}",
                        "Accept": "application/json",
                        "x-ms-client-request-id": str(uuid.uuid4()),
                    },
                    timeout=self._timeout(),
                    # A redirect would take the request (and, on the same host, the token) elsewhere.
                    allow_redirects=False,
                )
            except requests.RequestException as exc:
                raise from_requests_error(exc, self._upstream, action=action) from None
            if response.status_code == 401 and attempt == 1:
                claims = claims_from_challenge(response.headers.get("WWW-Authenticate"))
                self._tokens.invalidate(self._scope, token.token, claims=claims)
                continue
            if response.status_code == 204:
                return None
            if 200 <= response.status_code < 300:
                try:
                    return response.json()
                except ValueError:
                    raise UpstreamFailed(
                        f"{self._upstream} answered {action} with a body that is not JSON.",
                        upstream=self._upstream,
                    ) from None
            problem = from_requests_response(response, self._upstream, action=action, hints=hints)
            if bad_request_is_callers and response.status_code == 400:
                raise BadRequest(
                    f"{self._upstream} rejected the query while {action}: {_upstream_message(response)}",
                    upstream=self._upstream,
                    code=problem.code,
                )
            raise problem
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        self._session.close()


def _upstream_message(response: requests.Response) -> str:
    """Graph's own explanation of a 400: it names the caller's own bad input (e.g. a property)."""
    try:
        message = response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return "the request was invalid."
    return str(message)[:300]
