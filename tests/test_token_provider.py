import json
import threading
import time

import pytest
from azure.core.credentials import AccessTokenInfo
from azure.core.exceptions import ClientAuthenticationError

from shared.credential_chain.token_provider import TokenProvider, claims_from_challenge
from shared.errors import UpstreamFailed, UpstreamThrottled

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


# --------------------------------------------------------------------------- which version Entra judged
def _certificate(version: str):
    from shared.credential_chain.certificate_source import CertificateInfo

    return CertificateInfo(
        name="broker-signing",
        version=version,
        key_id=f"https://contoso-kv.vault.azure.net/keys/broker-signing/{version}",
        der=version.encode(),
        enabled=True,
        not_before=None,
        expires_on=None,
    )


class _Signer:
    def sign(self, certificate, algorithm, digest):
        return b"signature"


class _Selector:
    """Records which versions the provider holds an AADSTS700027 against."""

    pinned = False

    def __init__(self):
        self.rejected = []

    def reject(self, certificate):
        self.rejected.append(certificate.version)

    def not_registered_error(self, certificate):
        return UpstreamFailed("not registered", upstream="entra", code="AADSTS700027")


def _assertion(select, *, reuse=False, signer=None):
    """reuse=False by default here: these tests give each acquisition its own assertion on purpose."""
    from shared.credential_chain.assertion import ClientAssertion
    from shared.settings import Algorithm

    return ClientAssertion(
        reuse=reuse,
        select_certificate=select,
        signer=signer or _Signer(),
        client_id="11111111-2222-3333-4444-555555555555",
        token_url="https://login.microsoftonline.com/t/oauth2/v2.0/token",
        algorithm=Algorithm.PS256,
        send_x5c=False,
        lifetime_seconds=300,
    )


NOT_REGISTERED_BODY = {"error": "invalid_client", "error_description": "AADSTS700027: not registered"}


def test_a_rejection_of_an_acquisition_that_signed_nothing_holds_no_version_guilty():
    # The same thread first signs with version A (and gets its token); its next acquisition is
    # refused before any assertion is signed: version A must not be blamed for that.
    selector = _Selector()
    assertion = _assertion(lambda: _certificate("a" * 32))

    class Credential:
        def get_token_info(self, *scopes, options=None):
            if scopes == (SCOPE,):
                assertion()
                return AccessTokenInfo("t", int(time.time()) + 3600)
            raise _entra_error(401, NOT_REGISTERED_BODY)

    provider = TokenProvider(Credential(), assertion=assertion, selector=selector)
    provider.get(SCOPE)
    with pytest.raises(UpstreamFailed) as info:
        provider.get("https://graph.microsoft.com/.default")
    assert info.value.code == "AADSTS700027"
    assert selector.rejected == []


def test_concurrent_acquisitions_each_blame_the_version_that_signed_their_own_assertion():
    graph = "https://graph.microsoft.com/.default"
    versions = {SCOPE: "a" * 32, graph: "b" * 32}  # each scope's acquisition signs with its own version
    signing_for = threading.local()
    selector = _Selector()
    assertion = _assertion(lambda: _certificate(versions[signing_for.scope]))
    both_signed = threading.Barrier(2)
    refused = []

    class Credential:
        def get_token_info(self, *scopes, options=None):
            signing_for.scope = scopes[0]
            assertion()
            if scopes[0] == graph and not refused:
                both_signed.wait(timeout=5)  # the ARM acquisition has signed (with "a") meanwhile
                refused.append(1)
                raise _entra_error(401, NOT_REGISTERED_BODY)
            if scopes[0] == SCOPE:
                both_signed.wait(timeout=5)
            return AccessTokenInfo(f"token-{scopes[0]}", int(time.time()) + 3600)

    provider = TokenProvider(Credential(), assertion=assertion, selector=selector)
    threads = [threading.Thread(target=provider.get, args=(scope,)) for scope in (SCOPE, graph)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert selector.rejected == ["b" * 32]
    assert provider.get(graph).token == f"token-{graph}"  # the retry after the rejection succeeded


# --------------------------------------------------------------------------- one assertion, many scopes
GRAPH = "https://graph.microsoft.com/.default"


class _CountingSigner:
    def __init__(self):
        self.calls = 0

    def sign(self, certificate, algorithm, digest):
        self.calls += 1
        return b"signature"


class _AssertingCredential:
    """Calls the assertion on every token request, as ClientAssertionCredential does; answers per a script."""

    def __init__(self, assertion, answers=None):
        self.assertion = assertion
        self.sent = []
        self.answers = list(answers or [])

    def get_token_info(self, *scopes, options=None):
        self.sent.append(self.assertion())
        if self.answers:
            answer = self.answers.pop(0)
            if answer is not None:
                raise answer
        return AccessTokenInfo(f"token-{len(self.sent)}", int(time.time()) + 3600)


def test_a_second_scope_reuses_the_assertion_one_sign_two_token_requests():
    signer = _CountingSigner()
    reads = []
    assertion = _assertion(lambda: reads.append(1) or _certificate("a" * 32), reuse=True, signer=signer)
    credential = _AssertingCredential(assertion)
    provider = TokenProvider(credential, assertion=assertion, selector=_Selector())
    provider.get(SCOPE)
    provider.get(GRAPH)
    assert len(credential.sent) == 2 and credential.sent[0] == credential.sent[1]
    assert signer.calls == 1 and len(reads) == 1


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (401, {"error": "invalid_client", "error_codes": [700024]}),
        (401, {"error": "invalid_client", "error_codes": [50012]}),
        (400, {"error": "invalid_client", "error_codes": [7000215]}),
    ],
)
def test_an_assertion_entra_refuses_is_dropped_and_the_next_is_signed_from_a_fresh_read(status, body):
    signer = _CountingSigner()
    reads = []
    assertion = _assertion(lambda: reads.append(1) or _certificate("a" * 32), reuse=True, signer=signer)
    credential = _AssertingCredential(assertion, answers=[_entra_error(status, body)])
    provider = TokenProvider(credential, assertion=assertion, selector=_Selector())
    with pytest.raises(UpstreamFailed):
        provider.get(SCOPE)
    provider.get(GRAPH)
    assert credential.sent[0] != credential.sent[1]
    assert signer.calls == 2 and len(reads) == 2


@pytest.mark.parametrize("code", [7000229, 700016, 650052, 90002])
def test_a_refusal_of_the_tenant_keeps_the_assertion(code):
    # Security review (issues 16, 17): missing consent (or no such tenant) judges the tenant, not the
    # assertion; dropping it made every such request read the certificate and sign in Key Vault again.
    signer = _CountingSigner()
    reads = []
    assertion = _assertion(lambda: reads.append(1) or _certificate("a" * 32), reuse=True, signer=signer)
    refused = _entra_error(400, {"error": "unauthorized_client", "error_codes": [code]})
    credential = _AssertingCredential(assertion, answers=[refused, refused])
    provider = TokenProvider(credential, assertion=assertion, selector=_Selector())
    for _ in range(2):
        with pytest.raises(UpstreamFailed):
            provider.get(SCOPE)
    provider.get(SCOPE)
    assert credential.sent[0] == credential.sent[1] == credential.sent[2]
    assert signer.calls == 1 and len(reads) == 1


def test_a_throttled_request_keeps_the_assertion():
    signer = _CountingSigner()
    assertion = _assertion(lambda: _certificate("a" * 32), reuse=True, signer=signer)
    throttled = _entra_error(429, {"error": "temporarily_unavailable", "error_codes": [90055]})
    credential = _AssertingCredential(assertion, answers=[throttled])
    provider = TokenProvider(credential, assertion=assertion, selector=_Selector())
    with pytest.raises(UpstreamThrottled):
        provider.get(SCOPE)
    provider.get(SCOPE)
    assert credential.sent[0] == credential.sent[1] and signer.calls == 1


def test_not_registered_drops_the_reused_assertion_and_falls_back_to_the_older_version():
    signer = _CountingSigner()
    selector = _Selector()
    order = iter(["b" * 32, "a" * 32])  # the current version, then the fallback after its rejection
    assertion = _assertion(lambda: _certificate(next(order)), reuse=True, signer=signer)
    credential = _AssertingCredential(assertion, answers=[_entra_error(401, NOT_REGISTERED_BODY)])
    provider = TokenProvider(credential, assertion=assertion, selector=selector)
    provider.get(SCOPE)
    assert selector.rejected == ["b" * 32]
    provider.get(GRAPH)  # reuses the accepted (fallback) assertion: no third sign
    assert signer.calls == 2 and credential.sent[1] == credential.sent[2]


def test_refusal_hook_rewrites_what_the_tenant_provider_raises():
    assertion = _assertion(lambda: _certificate("a" * 32), reuse=True)
    refused = _entra_error(400, {"error": "unauthorized_client", "error_codes": [7000229]})
    credential = _AssertingCredential(assertion, answers=[refused])
    seen = []

    def refusal(problem):
        seen.append(problem.code)
        return UpstreamFailed("consent needed", upstream="entra", code=problem.code)

    provider = TokenProvider(credential, assertion=assertion, selector=_Selector(), refusal=refusal)
    with pytest.raises(UpstreamFailed) as info:
        provider.get(GRAPH)
    assert (info.value.detail, seen) == ("consent needed", ["AADSTS7000229"])
