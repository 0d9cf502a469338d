"""A short, low-cardinality operation name for an upstream request, from its method and path.

Metric attributes and span names must not carry ids (a certificate version, a subscription
id), so a path maps to the operation it performs: ``sign``, ``get_certificate``, ``token``,
``readonlykeys``, ``list_users``. Standard library only.
"""

from __future__ import annotations

from urllib.parse import urlsplit

_KEYVAULT_COLLECTIONS = {"certificates": "certificate", "keys": "key", "secrets": "secret"}


def url_path(url: str) -> str:
    """The URL's path: never its query (resource and client ids, paging tokens) nor its userinfo."""
    return urlsplit(url).path or "/"


def server_address(url: str) -> str:
    return urlsplit(url).hostname or ""


def operation_name(upstream: str, method: str, path: str) -> str:
    segments = [s for s in path.split("/") if s]
    method = method.upper()
    if upstream == "managed-identity":
        return "token"
    if upstream == "entra":
        if segments and segments[-1] == "token":
            return "token"
        if segments and segments[-1] == "keys":
            return "jwks"
        if "openid-configuration" in segments:
            return "discovery"
        return method.lower()
    if upstream == "keyvault" and segments:
        kind = _KEYVAULT_COLLECTIONS.get(segments[0], segments[0])
        action = segments[-1] if len(segments) >= 4 else None
        if action in ("sign", "verify", "encrypt", "decrypt", "wrapkey", "unwrapkey"):
            return action
        if len(segments) >= 3 and segments[-1] == "versions":
            return f"list_{kind}_versions"
        if len(segments) == 1 and method == "GET":
            return f"list_{kind}s"
        return f"{method.lower()}_{kind}" if method != "GET" else f"get_{kind}"
    if upstream == "arm" and segments:
        # POST .../databaseAccounts/{name}/listKeys|readonlykeys|listConnectionStrings
        return segments[-1] if method == "POST" else f"{method.lower()}_{_arm_type(segments)}"
    if upstream == "graph" and segments:
        if segments[-1] in ("addKey", "removeKey"):
            return segments[-1]
        resource = segments[1] if len(segments) > 1 else segments[0]
        if method == "GET":
            return f"list_{resource}" if len(segments) <= 2 else f"get_{resource.rstrip('s')}"
        return f"{method.lower()}_{resource}"
    return method.lower()


def _arm_type(segments: list[str]) -> str:
    # The last resource type in .../providers/{namespace}/{type}/{name}[/...]
    if "providers" in segments:
        rest = segments[segments.index("providers") + 2 :]
        if rest:
            return rest[0] if len(rest) % 2 else rest[-2]
    return segments[-1]
