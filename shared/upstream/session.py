"""A ``requests`` session for one API origin, with the environment's proxy and CA settings read once.

``requests`` honours ``HTTPS_PROXY``/``NO_PROXY``, ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` and
``~/.netrc`` through ``Session.trust_env``, but it re-reads them on every request
(``merge_environment_settings`` walks the whole environment twice, ``getproxies_environment`` and
``proxy_bypass_environment``): about a third of this app's own work on a warm request. A client
here only ever talks to one origin, so the same decision is made once, when the client is built,
with ``requests``' own functions, and ``trust_env`` is turned off. ``.netrc`` is deliberately not
read: these requests carry their own bearer token. The runtime is rebuilt when one of these
variables changes (``settings.RUNTIME_ENVIRONMENT``), as it is for every other setting.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import requests
from requests.utils import get_environ_proxies


def ca_bundle(environ: Mapping[str, str] | None = None) -> str | bool:
    """``verify`` as ``requests`` would derive it from the environment: a CA bundle path, or True."""
    environ = os.environ if environ is None else environ
    return environ.get("REQUESTS_CA_BUNDLE") or environ.get("CURL_CA_BUNDLE") or True


def session_for(origin: str) -> requests.Session:
    """A session whose proxies and CA trust for ``origin`` come from the environment, read now."""
    session = requests.Session()
    session.trust_env = False
    # get_environ_proxies applies NO_PROXY to this origin and returns {} when it is bypassed.
    session.proxies.update(get_environ_proxies(origin))
    session.verify = ca_bundle()
    return session
