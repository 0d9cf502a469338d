"""End-to-end fixtures: function_app on azure-functions-runtime behind the local host, the real SDKs, the emulator."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from openapi_core.templating.paths.exceptions import PathNotFound

from emulator import Emulator
from emulator.host import serve
from shared import settings as setting_names
from shared.errors import PROBLEM_TYPE_PREFIX, Unauthorized
from shared.openapi import build_document
from shared.runtime import reset_runtime
from tests.contract import closed, problem_errors

APP_DIR = Path(__file__).resolve().parents[2]  # function_app.py and host.json
FUNCTION_KEY = secrets.token_urlsafe(24)
MASTER_KEY = secrets.token_urlsafe(24)  # the host's master key: admin API and the Event Grid webhook
_SETTINGS = [value for name, value in vars(setting_names).items() if name.isupper() and isinstance(value, str)] + [
    "IDENTITY_HEADER",
    "REQUESTS_CA_BUNDLE",
    "SSL_CERT_FILE",
    "CURL_CA_BUNDLE",
    "EMULATOR_CONTROL_URL",
]


@pytest.fixture(scope="session")
def function_base_url() -> Iterator[str]:
    # The host runs in this process (the runtime imports function_app here), so the settings the
    # tests monkeypatch into os.environ are the ones the function reads.
    with serve(APP_DIR, function_keys=[FUNCTION_KEY], master_key=MASTER_KEY) as url:
        yield url


@pytest.fixture(scope="session")
def master_key() -> str:
    """The host's master key (tests import conftest under another module name: use this fixture)."""
    return MASTER_KEY


# RFC 9457's media type is JSON; openapi-core deserializes only application/json by itself. Closed
# (tests/contract.py): a field the code returns that the document does not list fails the test.
CONTRACT_DOCUMENT = build_document()
CONTRACT = OpenAPI.from_dict(
    closed(CONTRACT_DOCUMENT), config=Config(extra_media_type_deserializers={"application/problem+json": json.loads})
)


OBSERVED: set[tuple[str, str, int]] = set()
# The emulator's deployment identifiers (filled once per session): no problem+json body the suite
# sees may carry one (SPEC "Errors": a caller's error never names the deployment's identifiers;
# they go to the log line and /api/diagnostics).
DEPLOYMENT_IDENTIFIERS: dict[str, str] = {}
PROBLEMS_CHECKED: list[int] = [0]


def deployment_identifiers(emulator: Emulator) -> dict[str, str]:
    """What identifies the emulated deployment: tenant, app and identity IDs, subscription, resource
    group and resource paths, the vault's name and host, the certificate's name."""
    seed = emulator.seed
    vault = urlsplit(emulator.urls["vault"])
    named = {
        "tenant ID": seed.tenant_id,
        "client ID": seed.client_id,
        "application object ID": seed.app_object_id,
        "service principal object ID": seed.sp_object_id,
        "system-assigned identity principal ID": seed.system_mi_principal_id,
        "system-assigned identity client ID": seed.system_mi_client_id,
        "user-assigned identity principal ID": seed.user_mi_principal_id,
        "user-assigned identity client ID": seed.user_mi_client_id,
        "subscription ID": seed.subscription_id,
        "resource group": seed.resource_group,
        "resource path": "/subscriptions/",
        "vault name": seed.vault_name,
        "vault host": vault.netloc,
        "function app name": seed.function_app_name,
        "certificate name": seed.certificate_name,
    }
    return {what: value.lower() for what, value in named.items() if value}


def assert_no_deployment_identifier(response: requests.Response) -> None:
    """A problem+json body names what to fix, never the deployment's identifiers."""
    if not response.headers.get("Content-Type", "").startswith("application/problem+json"):
        return
    PROBLEMS_CHECKED[0] += 1
    body = response.text.lower()
    found = [what for what, value in DEPLOYMENT_IDENTIFIERS.items() if value in body]
    if found:
        pytest.fail(
            f"{response.request.method} {response.request.path_url.split('?')[0]} answered {response.status_code} "
            f"with the deployment's {', '.join(found)} in its problem body: {response.text[:500]}"
        )


@pytest.fixture(scope="session", autouse=True)
def _deployment_identifiers(emulator: Emulator) -> None:
    DEPLOYMENT_IDENTIFIERS.update(deployment_identifiers(emulator))


@pytest.fixture
def identifiers() -> dict[str, str]:
    """The emulated deployment's identifiers (lowercase), by what they are."""
    return dict(DEPLOYMENT_IDENTIFIERS)


def assert_conforms(response: requests.Response) -> None:
    """Every response the suite receives must be one the OpenAPI document describes.

    Status, media type, body schema and the documented headers are checked (openapi-core). A path
    the app does not serve is the host's (404 without a body). 401 is documented without content
    (the host's has none); the app's own 401 body is checked here against ``Problem``.
    """
    OBSERVED.add((response.request.method, response.request.path_url.split("?")[0], response.status_code))
    assert_no_deployment_identifier(response)
    try:
        CONTRACT.validate_response(RequestsOpenAPIRequest(response.request), RequestsOpenAPIResponse(response))
    except PathNotFound:
        return
    except Exception as exc:
        detail = getattr(exc, "__cause__", None) or exc
        pytest.fail(
            f"{response.request.method} {response.request.path_url} answered {response.status_code} "
            f"outside the OpenAPI document: {detail}\n{response.text[:500]}"
        )
    if response.status_code == 401 and response.content:
        # Documented without content (the host's is bodyless): the app's own is an `unauthorized` problem.
        assert response.headers["Content-Type"].startswith("application/problem+json"), response.headers
        body = response.json()
        assert body["type"] == PROBLEM_TYPE_PREFIX + Unauthorized.slug, body
        assert problem_errors(CONTRACT_DOCUMENT, body) == [], body


@dataclass
class FunctionClient:
    base_url: str

    def request(
        self, method: str, path: str, *, key: bool = True, headers: dict | None = None, **params: str
    ) -> requests.Response:
        all_headers = dict(headers or {})
        if key:
            all_headers["x-functions-key"] = FUNCTION_KEY
        response = requests.request(
            method, f"{self.base_url}/api/{path}", params=params, headers=all_headers, timeout=60
        )
        assert_conforms(response)
        return response

    def get(self, path: str, *, key: bool = True, headers: dict | None = None, **params: str) -> requests.Response:
        return self.request("GET", path, key=key, headers=headers, **params)

    def post(self, path: str, *, key: bool = True, headers: dict | None = None, **params: str) -> requests.Response:
        return self.request("POST", path, key=key, headers=headers, **params)


Configure = Callable[..., FunctionClient]


@pytest.fixture
def configure(emu: Emulator, function_base_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Configure]:
    """Point function_app at the emulator in a credential mode, with setting overrides (None unsets)."""

    def apply(mode: str = "keyvault", **overrides: str | None) -> FunctionClient:
        for name in _SETTINGS:
            monkeypatch.delenv(name, raising=False)
        env = emu.env_for(mode)
        # As the Bicep deployment sets it (the app registration's object ID).
        env.setdefault("ENTRA_APPLICATION_OBJECT_ID", emu.seed.app_object_id)
        env.update({k: v for k, v in overrides.items() if v is not None})
        for name in (k for k, v in overrides.items() if v is None):
            env.pop(name, None)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        reset_runtime()
        return FunctionClient(function_base_url)

    yield apply
    reset_runtime()


@pytest.fixture
def client(configure: Configure) -> FunctionClient:
    return configure()


@pytest.fixture
def function_key() -> str:
    return FUNCTION_KEY


def _whole_e2e_suite_ran(session: pytest.Session) -> bool:
    config = session.config
    if config.getoption("keyword") or config.getoption("markexpr") or config.getoption("deselect"):
        return False
    e2e = Path(__file__).parent.resolve()
    targets = [Path(str(a).split("::")[0]).resolve() for a in (config.args or [])]
    return any(t == e2e or t in e2e.parents for t in targets)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """After the whole end-to-end suite: every status the document promises was seen (but 500, a bug).

    The per-response validation above catches a status the code answers but the document lacks; this
    catches the reverse, a documented status nothing produces. Skipped for partial runs.
    """
    import re

    from shared.openapi import OPERATIONS

    if exitstatus != 0 or not OBSERVED or not _whole_e2e_suite_ran(session):
        return
    unseen = []
    for op in OPERATIONS:
        path = re.compile("^/api" + re.sub(r"\{[^}]+\}", "[^/]+", op.path) + "$")
        seen = {status for method, url, status in OBSERVED if method.lower() == op.method and path.match(url)}
        documented = {int(status) for status in CONTRACT_DOCUMENT["paths"][op.path][op.method]["responses"]} - {500}
        unseen += [f"{op.method.upper()} {op.path} {status}" for status in sorted(documented - seen)]
    if PROBLEMS_CHECKED[0] == 0:
        unseen.append("(no problem+json body was checked for deployment identifiers)")
    if unseen:
        session.config.get_terminal_writer().line(
            "OpenAPI statuses documented but never answered in the e2e suite: " + ", ".join(unseen), red=True
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def audience(emu: Emulator) -> str:
    """The API's App ID URI, the audience caller tokens are minted for."""
    return emu.seed.api_app_id_uri


@pytest.fixture
def protected(configure: Configure, audience: str, emu: Emulator) -> FunctionClient:
    """function_app with caller tokens required (CALLER_AUDIENCE: the App ID URI and the client ID)."""
    return configure(CALLER_AUDIENCE=f"{audience},{emu.seed.client_id}")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
