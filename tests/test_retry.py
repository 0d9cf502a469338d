import pytest

from shared.downstream.graph_users import parse_limit, parse_select
from shared.errors import BadRequest
from shared.upstream.error_mapping import error_code_from_body, from_status, retry_after_seconds
from shared.upstream.retry import budget_allows, remaining, request_deadline, urllib3_retry


def test_no_deadline_outside_a_request():
    assert remaining() is None
    assert budget_allows(1000, 1000)


def test_deadline_bounds_waits_and_attempts():
    with request_deadline(5):
        assert 4.5 < remaining() <= 5
        assert budget_allows(1, 3)
        assert not budget_allows(3, 3)
    assert remaining() is None


def test_urllib3_retry_accepts_fractional_retry_after():
    # Graph's throttling docs show Retry-After: 2.128, which plain urllib3 rejects.
    assert urllib3_retry(10).parse_retry_after("2.128") == pytest.approx(2.128)
    assert urllib3_retry(10).parse_retry_after("3") == 3


def test_urllib3_retry_keeps_its_attempt_timeout_across_increments():
    retry = urllib3_retry(7).new(total=2)
    assert retry.attempt_timeout == 7


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "7"}, 7),
        ({"retry-after": "2.128"}, 3),
        ({"x-ms-retry-after-ms": "1500"}, 2),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, 5),
        ({}, 5),
    ],
)
def test_retry_after_is_whole_seconds(headers, seconds):
    assert retry_after_seconds(headers) == seconds


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"error": "invalid_client", "error_codes": [700027]}, "AADSTS700027"),
        ({"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret."}, "AADSTS7000215"),
        ({"error": "temporarily_unavailable"}, "temporarily_unavailable"),
        ({"error": {"code": "Forbidden", "innererror": {"code": "ForbiddenByRbac"}}}, "ForbiddenByRbac"),
        ({"error": {"code": "AuthorizationFailed", "message": "…"}}, "AuthorizationFailed"),
        ({"code": "BadRequest", "message": "…"}, "BadRequest"),
        ("not json", None),
    ],
)
def test_error_codes_come_from_the_upstream_body(body, code):
    assert error_code_from_body(body) == code


def test_statuses_map_to_the_spec_error_classes():
    assert from_status("arm", 429, "x", {"Retry-After": "3"}, action="a").status == 503
    assert from_status("arm", 503, None, {"Retry-After": "3"}, action="a").status == 503
    assert from_status("arm", 503, None, {}, action="a").status == 502
    assert from_status("arm", 504, None, {}, action="a").status == 504
    assert from_status("arm", 403, "AuthorizationFailed", {}, action="a").status == 502
    assert from_status("entra", 400, "AADSTS90055", {}, action="a", transient=True).status == 503


@pytest.mark.parametrize("value", ["", "0", "10001", "²", "٣", "1e3", "+5", " ", "5.0"])
def test_limit_rejects_non_ascii_and_out_of_range(value):
    with pytest.raises(BadRequest):
        parse_limit(value)


def test_limit_and_select_accept_valid_values():
    assert parse_limit(None) == 100
    assert parse_limit("10000") == 10000
    assert parse_select(" id , displayName,id ") == ("id", "displayName")
    assert parse_select(None) is None
