"""Origins: which scheme, host and port a URL really connects to, judged as the HTTP client judges it.

A bearer token may only go to the origin it was issued for. Two URL parsers that disagree are
how a link like ``https://evil\\@graph.microsoft.com/`` slips through: ``urllib.parse`` reads the
host after the ``@`` while urllib3, which ``requests`` connects with, ends the authority at the
backslash and connects to ``evil``. So the decision is made on the URL exactly as ``requests``
prepared it and as urllib3's ``parse_url`` reads it, and a URL whose parsers disagree, or that
carries userinfo, a backslash, whitespace, control or non-ASCII characters, or a ``%`` in its
authority, is refused outright: no Azure API this function calls hands out such links.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from urllib3.util import parse_url

# Anything but printable ASCII without the space (so whitespace, controls, non-ASCII), or a backslash.
_UNSAFE_CHARACTER = re.compile(r"[^\x21-\x7e]|\\")
_DEFAULT_PORTS = {"https": 443, "http": 80}


class UnsafeUrl(ValueError):
    """A URL that cannot be trusted to connect where it seems to."""


def _join(scheme: str | None, host: str | None, port: int | None) -> str:
    scheme = (scheme or "").lower()
    host = (host or "").lower().strip("[]")
    if ":" in host:
        host = f"[{host}]"  # IPv6 literal
    shown = f":{port}" if port and port != _DEFAULT_PORTS.get(scheme) else ""
    return f"{scheme}://{host}{shown}"


def origin(url: str) -> str:
    """``scheme://host[:port]``, normalised (lowercase, default port dropped) so origins compare equal."""
    parts = urlsplit(url)
    return _join(parts.scheme, parts.hostname, parts.port)


def connection_origin(url: str) -> str:
    """The normalised origin urllib3 will connect to for ``url`` (a prepared request's URL).

    Raises :class:`UnsafeUrl` for userinfo, backslashes, whitespace, control or non-ASCII
    characters, a ``%`` in the authority, or when ``urllib.parse`` and urllib3 disagree on the origin.
    """
    if _UNSAFE_CHARACTER.search(url):
        raise UnsafeUrl("it contains a backslash, whitespace, a control or a non-ASCII character")
    try:
        parsed = parse_url(url)
        split = urlsplit(url)
        split_port = split.port
    except ValueError as exc:  # urllib3's LocationParseError is a ValueError too
        raise UnsafeUrl("it does not parse as a URL") from exc
    if parsed.auth is not None or "@" in split.netloc:
        raise UnsafeUrl("it carries userinfo (user:password@)")
    if not parsed.host or "%" in split.netloc:
        raise UnsafeUrl("its host is missing or percent-encoded")
    normalised = _join(parsed.scheme, parsed.host, parsed.port)
    if normalised != _join(split.scheme, split.hostname, split_port):
        raise UnsafeUrl("URL parsers disagree on where it connects")
    return normalised


def is_loopback_host(host: str | None) -> bool:
    """127.0.0.0/8, ::1 or ``localhost``: where local emulators listen."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
