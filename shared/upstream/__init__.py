"""Calling an Azure API, whichever it is: the plumbing under the credential chain and the downstream clients.

Where a request may go (``origins``: a token only to its own origin), the ``requests`` session per
origin (``session``), bounded retries within one request's budget (``retry``), upstream failures
mapped to the broker's problems (``error_mapping``), and one structured log line and span per
attempt (``call_logging``). Nothing here knows which API it talks to or holds a credential.
"""

from __future__ import annotations

from .call_logging import (
    azure_core_hooks,
    begin_requests_call,
    requests_attempt_raised,
    requests_hook,
)
from .error_mapping import (
    Hints,
    from_azure_error,
    from_managed_identity_error,
    from_requests_error,
    from_requests_response,
    with_target,
)
from .origins import UnsafeUrl, connection_origin, is_loopback_host, origin
from .retry import BoundedRetryPolicy, non_idempotent, remaining, request_deadline, urllib3_retry
from .session import session_for

__all__ = [
    "BoundedRetryPolicy",
    "Hints",
    "UnsafeUrl",
    "azure_core_hooks",
    "begin_requests_call",
    "connection_origin",
    "from_azure_error",
    "from_managed_identity_error",
    "from_requests_error",
    "from_requests_response",
    "is_loopback_host",
    "non_idempotent",
    "origin",
    "remaining",
    "request_deadline",
    "requests_attempt_raised",
    "requests_hook",
    "session_for",
    "urllib3_retry",
    "with_target",
]
