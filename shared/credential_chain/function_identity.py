"""The function's own identity: managed identity in Azure, the developer's login locally.

In Azure (App Service/Functions set ``IDENTITY_ENDPOINT``) this is
``ManagedIdentityCredential`` — user-assigned when ``AZURE_CLIENT_ID`` is set. Run locally with
Core Tools there is no managed identity, so the developer's Azure CLI (or azd) login stands in.
``DefaultAzureCredential`` is not the default on purpose: its full chain probes IMDS and
environment credentials that would mask a misconfiguration in production. Setting
``AZURE_TOKEN_CREDENTIALS`` (azure-identity's standard switch) opts into it, narrowed as
azure-identity narrows it (e.g. ``ManagedIdentityCredential`` in Azure, ``dev`` locally).
"""

from __future__ import annotations

import os
import threading
from typing import Any

from azure.core.credentials import AccessToken, AccessTokenInfo, TokenCredential, TokenRequestOptions
from azure.core.exceptions import AzureError
from azure.identity import (
    AzureCliCredential,
    AzureDeveloperCliCredential,
    ChainedTokenCredential,
    DefaultAzureCredential,
    ManagedIdentityCredential,
)

from ..errors import Misconfigured, ProblemError, Upstream, UpstreamFailed
from ..settings import AZURE_TOKEN_CREDENTIALS, Settings
from ..upstream import BoundedRetryPolicy, azure_core_hooks, from_managed_identity_error


class ManagedIdentityErrors:
    """Wraps a credential so its failures name the managed-identity upstream.

    Key Vault's challenge policy calls the credential from inside its own pipeline; without this
    a refused managed-identity endpoint would surface as a Key Vault failure.
    """

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        _last_response.__dict__.clear()
        try:
            return self._inner.get_token(*scopes, **kwargs)
        except ProblemError:
            raise
        except (AzureError, ValueError, KeyError, TypeError) as exc:
            raise self._problem(exc) from None

    def get_token_info(self, *scopes: str, options: TokenRequestOptions | None = None) -> AccessTokenInfo:
        _last_response.__dict__.clear()
        try:
            return self._inner.get_token_info(*scopes, options=options)
        except ProblemError:
            raise
        except (AzureError, ValueError, KeyError, TypeError) as exc:
            raise self._problem(exc) from None

    @staticmethod
    def _problem(exc: Exception) -> ProblemError:
        status, headers = last_identity_response()
        if not isinstance(exc, AzureError):
            # MSAL could not read the answer (not JSON, expires_on not an integer, ...).
            return UpstreamFailed(
                f"The managed identity endpoint answered{f' {status}' if status else ''} with something that is "
                "not a token.",
                upstream=Upstream.MANAGED_IDENTITY,
                upstream_status=status,
            )
        return from_managed_identity_error(exc, status=status, headers=headers)

    def close(self) -> None:
        self._inner.close()


_last_response = threading.local()


def last_identity_response() -> tuple[int | None, dict[str, str]]:
    """Status and headers of this thread's last managed-identity answer: MSAL folds the status away."""
    return getattr(_last_response, "status", None), getattr(_last_response, "headers", {})


def _recording_hooks(hooks: dict[str, Any]) -> dict[str, Any]:
    log_response = hooks["raw_response_hook"]

    def on_response(response: Any) -> None:
        _last_response.status = response.http_response.status_code
        _last_response.headers = dict(response.http_response.headers)
        log_response(response)

    return {**hooks, "raw_response_hook": on_response}


def _app_service_protocol() -> bool:
    # azure-identity picks the managed identity flavour from the process environment itself.
    return bool(
        os.environ.get("IDENTITY_ENDPOINT")
        and os.environ.get("IDENTITY_HEADER")
        and not os.environ.get("IDENTITY_SERVER_THUMBPRINT")
    )


def transport_options(settings: Settings) -> dict[str, Any]:
    """Timeouts and the bounded retry policy every azure-core pipeline here uses."""
    timeout = settings.upstream_timeout_seconds
    return {"connection_timeout": timeout, "read_timeout": timeout}


def build_function_identity(settings: Settings) -> TokenCredential:
    """The credential for Key Vault (and, in managed-identity mode, for ARM and Graph)."""
    options = transport_options(settings)
    if settings.token_credentials:
        # AZURE_TOKEN_CREDENTIALS set: azure-identity's own DefaultAzureCredential, which reads the
        # variable itself and keeps only what it names (``dev``: developer logins; ``prod``:
        # environment, workload identity, managed identity; or exactly one credential, e.g.
        # ManagedIdentityCredential, which then skips the IMDS probe). Nothing is reimplemented here.
        try:
            credential: Any = DefaultAzureCredential(
                managed_identity_client_id=settings.managed_identity_client_id,
                process_timeout=int(max(settings.upstream_timeout_seconds, 10)),
                **options,
                **_recording_hooks(azure_core_hooks("managed-identity")),
            )
        except ValueError as exc:  # azure-identity refused the value settings accepted: still a 503
            raise Misconfigured([(AZURE_TOKEN_CREDENTIALS, str(exc))]) from None
    elif settings.use_managed_identity:
        mi_options: dict[str, Any] = {**options, **_recording_hooks(azure_core_hooks("managed-identity"))}
        if _app_service_protocol():
            # Only the App Service flavour takes a retry policy class; IMDS brings its own.
            mi_options["retry_policy_class"] = retry_policy_class(settings)
        credential = ManagedIdentityCredential(client_id=settings.managed_identity_client_id, **mi_options)
    else:
        credential = ChainedTokenCredential(
            AzureCliCredential(process_timeout=int(max(settings.upstream_timeout_seconds, 10))),
            AzureDeveloperCliCredential(process_timeout=int(max(settings.upstream_timeout_seconds, 10))),
        )
    return ManagedIdentityErrors(credential)


def retry_policy_class(settings: Settings) -> type[BoundedRetryPolicy]:
    """For azure-identity, which builds its policy from a class: the settings' attempt timeout baked in."""
    attempt_timeout = settings.upstream_timeout_seconds

    class _Policy(BoundedRetryPolicy):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(attempt_timeout=attempt_timeout, **kwargs)

    return _Policy


def bounded_retry_policy(settings: Settings) -> BoundedRetryPolicy:
    return BoundedRetryPolicy(attempt_timeout=settings.upstream_timeout_seconds)
