import json
import threading
import time

import pytest
from azure.core.credentials import AccessTokenInfo
from azure.core.exceptions import ClientAuthenticationError

from shared.errors import UpstreamFailed, UpstreamThrottled
from shared.token_provider import TokenProvider, claims_from_challenge

SCOPE = "https://management.azure.com/.default"


class CountingCredential:
    """A TokenCredential double that counts fetches; the real library is covered end to end."""

    def __init__(self, lifetime=3600, delay=0.0):
        self.calls = []
        self.lifetime = lifetime
        self.delay = delay
        self.lock = threading.Lock()

    def get_token_info(self, *scopes, options=None):
        with self.lock:
            self.calls.append((scopes, dict(options or {})))
            n = len(self.calls)
        time.sleep(self.delay)
        return AccessTokenInfo(f"token-{n}", int(time.time()) + self.lifetime)


def test_concurrent_cold_requests_share_one_fetch():
    credential = CountingCredential(delay=0.2)
    provider = TokenProvider(credential)
    results = []
    barrier = threading.Barrier(32)

    def worker():
        barrier.wait()
        results.append(provider.get(SCOPE).token)

    threads = [threading.Thread(target=worker) for _ in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(credential.calls) == 1
    assert set(results) == {"token-1"}


def test_valid_token_is_served_without_calling_the_credential():
    credential = CountingCredential()
    provider = TokenProvider(credential)
    for _ in range(100):
        provider.get(SCOPE)
    assert len(credential.calls) == 1


@pytest.mark.parametrize(
    ("lifetime", "elapsed", "refreshes"),
    [
        (3600, 3600 - 301, False),  # more than 5 minutes left
        (3600, 3600 - 299, True),  # inside the 5-minute margin
        (400, 199, False),  # short-lived: not yet halfway
        (400, 201, True),  # short-lived: past halfway
    ],
)
def test_refresh_schedule(lifetime, elapsed, refreshes):
    now = [1_000_000.0]
    credential = CountingCredential()

    def get_token_info(*scopes, options=None):
        credential.calls.append(scopes)
        return AccessTokenInfo("t", int(now[0]) + lifetime)

    credential.get_token_info = get_token_info
    provider = TokenProvider(credential, clock=lambda: now[0])
    provider.get(SCOPE)
    now[0] += elapsed
    provider.get(SCOPE)
    assert len(credential.calls) == (2 if refreshes else 1)


def test_invalidate_drops_the_token_and_next_fetch_skips_the_library_cache():
    credential = CountingCredential()
    provider = TokenProvider(credential)
    first = provider.get(SCOPE)
    provider.invalidate(SCOPE, first.token)
    second = provider.get(SCOPE)
    assert second.token != first.token
    assert "claims" in credential.calls[1][1]
    assert "claims" not in credential.calls[0][1]
    provider.get(SCOPE)
    assert len(credential.calls) == 2


def test_invalidate_of_an_already_replaced_token_is_ignored():
    credential = CountingCredential()
    provider = TokenProvider(credential)
    provider.get(SCOPE)
    provider.invalidate(SCOPE, "some-older-token")
    provider.get(SCOPE)
    assert len(credential.calls) == 1


def test_cae_challenge_claims_are_decoded():
    import base64

    claims = '{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}'
    encoded = base64.b64encode(claims.encode()).decode()
    header = (
        'Bearer authorization_uri="https://login.microsoftonline.com/common", '
        f'error="insufficient_claims", claims="{encoded}"'
    )
    assert claims_from_challenge(header) == claims
    assert claims_from_challenge('Bearer error="invalid_token"') is None


class _Response:
    def __init__(self, status, body, headers=None):
        self.status_code = status
        self.reason = "error"
        self._body = json.dumps(body)
        self.headers = headers or {}

    def text(self):
        return self._body


def _entra_error(status, body, headers=None):
    return ClientAuthenticationError(message="entra said no", response=_Response(status, body, headers))


def test_entra_error_becomes_502_with_the_aadsts_code():
    class Failing:
        def get_token_info(self, *scopes, options=None):
            raise _entra_error(400, {"error": "unauthorized_client", "error_codes": [700016]})

    with pytest.raises(UpstreamFailed) as info:
        TokenProvider(Failing()).get(SCOPE)
    problem = info.value.to_problem()
    assert problem["status"] == 502
    assert problem["upstream"] == "entra"
    assert problem["code"] == "AADSTS700016"
    assert "ENTRA_CLIENT_ID" in problem["detail"]


def test_entra_temporarily_unavailable_after_retries_is_503_with_the_oauth_error():
    class Failing:
        def get_token_info(self, *scopes, options=None):
            raise _entra_error(400, {"error": "temporarily_unavailable", "error_description": "try later"})

    with pytest.raises(UpstreamThrottled) as info:
        TokenProvider(Failing()).get(SCOPE)
    assert info.value.code == "temporarily_unavailable"
    assert info.value.headers["Retry-After"].isdigit()


def test_aadsts_code_is_read_from_the_description_when_error_codes_is_absent():
    class Failing:
        def get_token_info(self, *scopes, options=None):
            raise _entra_error(401, {"error": "invalid_client", "error_description": "AADSTS700027: not registered"})

    with pytest.raises(UpstreamFailed) as info:
        TokenProvider(Failing()).get(SCOPE)
    assert info.value.code == "AADSTS700027"


def test_waiters_share_the_leaders_failure_instead_of_repeating_it():
    calls = []

    class SlowFailure:
        def get_token_info(self, *scopes, options=None):
            calls.append(1)
            time.sleep(0.2)
            raise _entra_error(400, {"error": "invalid_request", "error_codes": [90002]})

    provider = TokenProvider(SlowFailure())
    errors = []
    barrier = threading.Barrier(8)

    def worker():
        barrier.wait()
        try:
            provider.get(SCOPE)
        except UpstreamFailed as exc:
            errors.append(exc.code)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == ["AADSTS90002"] * 8
    assert len(calls) == 1


def test_entra_throttling_becomes_503_with_retry_after():
    class Failing:
        def get_token_info(self, *scopes, options=None):
            raise _entra_error(429, {"error": "temporarily_unavailable", "error_codes": [90055]}, {"Retry-After": "7"})

    with pytest.raises(UpstreamThrottled) as info:
        TokenProvider(Failing()).get(SCOPE)
    assert info.value.status == 503
    assert info.value.headers["Retry-After"] == "7"
    assert info.value.code == "AADSTS90055"


def test_errors_are_not_cached():
    calls = []

    class FlakyOnce:
        def get_token_info(self, *scopes, options=None):
            calls.append(1)
            if len(calls) == 1:
                raise _entra_error(400, {"error": "invalid_request", "error_codes": [90002]})
            return AccessTokenInfo("ok", int(time.time()) + 3600)

    provider = TokenProvider(FlakyOnce())
    with pytest.raises(UpstreamFailed):
        provider.get(SCOPE)
    assert provider.get(SCOPE).token == "ok"
