"""The caller's detail and the operator's hint, split where problems are made and kept for diagnostics."""

from __future__ import annotations

from shared import problem_log
from shared.errors import BadRequest, Hint, Upstream, UpstreamFailed
from shared.upstream.error_mapping import from_status

ROLE = Hint(
    "Grant the app registration's service principal (ENTRA_CLIENT_ID) the Reader role on the account.",
    "Grant the service principal of app registration 1111 in tenant 2222 the Reader role on /subscriptions/s/x.",
)


def test_a_status_hint_splits_into_the_callers_detail_and_the_operators_hint():
    problem = from_status(
        Upstream.ARM,
        403,
        "AuthorizationFailed",
        {},
        action="listKeys",
        hints={403: ROLE},
        target="POST /subscriptions/s/x",
    )
    assert problem.detail == f"arm answered 403 to listKeys (AuthorizationFailed). {ROLE.caller}"
    assert (
        problem.log_hint
        == f"arm answered 403 to listKeys (AuthorizationFailed) [POST /subscriptions/s/x]. {ROLE.operator}"
    )
    assert "/subscriptions/" not in str(problem.to_problem()), "the hint never reaches the body"


def test_a_plain_string_hint_is_the_same_for_both_and_a_target_alone_makes_a_hint():
    problem = from_status(Upstream.KEYVAULT, 404, None, {}, action="reading", hints={404: "Check X."}, target="vault v")
    assert problem.detail == "keyvault answered 404 to reading. Check X."
    assert problem.log_hint == "keyvault answered 404 to reading [vault v]. Check X."
    bare = from_status(Upstream.KEYVAULT, 404, None, {}, action="reading", hints={404: "Check X."})
    assert bare.log_hint is None and bare.operator_hint == bare.detail


def test_throttling_and_timeouts_carry_the_target_to_the_operator_only():
    throttled = from_status(
        Upstream.GRAPH, 429, None, {"Retry-After": "3"}, action="listing users", target="GET /v1.0/users"
    )
    assert "GET /v1.0/users" not in throttled.detail and "GET /v1.0/users" in (throttled.log_hint or "")
    timeout = from_status(Upstream.GRAPH, 504, None, {}, action="listing users", target="GET /v1.0/users")
    assert "GET" not in timeout.detail and "GET /v1.0/users" in (timeout.log_hint or "")


def test_only_what_an_operator_may_act_on_is_kept_newest_first_and_bounded():
    problem_log.clear()
    problem_log.record("cosmos-keys", BadRequest("Query parameter 'type' must be readonly or readwrite."))
    assert problem_log.recent() == [], "a caller's own 400 is not kept"
    for n in range(problem_log.MAX_PROBLEMS + 5):
        problem_log.record("graph-users", UpstreamFailed(f"failure {n}", upstream=Upstream.GRAPH, log_hint=f"hint {n}"))
    kept = problem_log.recent()
    assert len(kept) == problem_log.MAX_PROBLEMS
    assert kept[0]["hint"] == f"hint {problem_log.MAX_PROBLEMS + 4}" and kept[0]["detail"].startswith("failure")
    assert kept[0]["source"] == "graph-users" and kept[0]["status"] == 502 and kept[0]["upstream"] == "graph"
    problem_log.clear()
