import logging
import threading

import pytest

from shared.credential_chain import CONSENT_CODES, TenantTokens, consent_refusal
from shared.errors import TenantNotAllowed, UpstreamFailed, UpstreamThrottled

HOME = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CUSTOMER = "aaaaaaaa-1111-2222-3333-444444444444"
CONSENT_URL = (
    f"https://login.microsoftonline.com/{CUSTOMER}/adminconsent?client_id=11111111-2222-3333-4444-555555555555"
)


class _Provider:
    def __init__(self, tenant):
        self.tenant = tenant


def _tenants(built=None, allowed=(CUSTOMER,)):
    built = built if built is not None else []

    def build(tenant):
        built.append(tenant)
        return _Provider(tenant)

    return TenantTokens(_Provider(None), allowed=allowed, home_tenant_id=HOME, build=build), built


@pytest.mark.parametrize(
    ("asked", "resolved"), [(None, None), (HOME, None), (HOME.upper(), None), (CUSTOMER, CUSTOMER)]
)
def test_home_or(asked, resolved):
    tenants, _ = _tenants()
    assert tenants.home_or(asked) == resolved


def test_a_tenant_not_listed_is_refused_and_nothing_is_built():
    tenants, built = _tenants()
    other = "bbbbbbbb-1111-2222-3333-444444444444"
    with pytest.raises(TenantNotAllowed) as info:
        tenants.require_allowed(other)
    with pytest.raises(TenantNotAllowed):
        tenants.provider(other)
    assert built == []
    assert info.value.status == 403 and "WWW-Authenticate" not in info.value.headers
    assert other not in info.value.detail


def test_without_a_builder_no_other_tenant_is_served():
    tenants = TenantTokens(_Provider(None))  # managed-identity mode
    with pytest.raises(TenantNotAllowed):
        tenants.require_allowed(CUSTOMER)
    assert tenants.provider(None).tenant is None


def test_one_provider_per_tenant_built_once_under_concurrency():
    tenants, built = _tenants()
    results = []
    threads = [threading.Thread(target=lambda: results.append(tenants.provider(CUSTOMER))) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert built == [CUSTOMER]
    assert len({id(p) for p in results}) == 1
    assert tenants.provider(None) is tenants.home


@pytest.mark.parametrize("code", sorted(CONSENT_CODES))
def test_missing_consent_becomes_a_502_naming_the_administrator_and_logs_the_url(code, caplog):
    caplog.set_level(logging.WARNING)
    refusal = consent_refusal(CUSTOMER, CONSENT_URL)
    problem = refusal(UpstreamFailed(f"entra answered 400 ({code}). hint", upstream="entra", code=code))
    assert problem.status == 502 and problem.code == code
    assert "administrator of that tenant must consent" in problem.detail
    assert CUSTOMER not in problem.detail and "client_id" not in problem.detail
    assert any(CONSENT_URL in r.getMessage() and CUSTOMER in r.getMessage() for r in caplog.records)


def test_other_refusals_pass_through():
    refusal = consent_refusal(CUSTOMER, CONSENT_URL)
    other = UpstreamFailed("x", upstream="entra", code="AADSTS700027")
    throttled = UpstreamThrottled("y", upstream="entra", retry_after=3, code="AADSTS7000229")
    assert refusal(other) is other
    assert refusal(throttled) is throttled
