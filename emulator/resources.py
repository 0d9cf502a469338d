# Which resource identifiers (the `resource` of a managed-identity request, the scope minus
# `/.default` at the token endpoint) name a resource principal the tenant knows, and which
# surface it is. Public ids: Key Vault https://vault.azure.net, ARM https://management.azure.com
# and https://management.core.windows.net, Graph https://graph.microsoft.com (or its app id),
# token exchange api://AzureADTokenExchange (AZURE-PROTOCOLS.md 3.1, 5, 8). The emulator's own
# ARM and Graph origins are resources too, because ARM_ENDPOINT/GRAPH_ENDPOINT make the
# function ask for "{origin}/.default" (SPEC "Token scopes").
# A trailing slash names the same resource principal; the token's `aud` keeps the value as
# requested (so Key Vault can answer AKV10022 for "https://vault.azure.net/").
from __future__ import annotations

from emulator.seed import ARM_APP_ID, GRAPH_APP_ID, KEY_VAULT_APP_ID
from emulator.seed import TOKEN_EXCHANGE_AUDIENCE as TOKEN_EXCHANGE_AUDIENCE  # re-exported
from emulator.surface import Context

VAULT = "vault"
ARM = "arm"
GRAPH = "graph"
TOKEN_EXCHANGE = "token_exchange"  # noqa: S105 - a resource kind, not a secret
API = "api"


def resource_kind(ctx: Context, resource: str) -> str | None:
    key = resource[:-1] if resource.endswith("/") else resource
    known = {
        "https://vault.azure.net": VAULT,
        KEY_VAULT_APP_ID: VAULT,
        "https://management.azure.com": ARM,
        "https://management.core.windows.net": ARM,
        ARM_APP_ID: ARM,
        "https://graph.microsoft.com": GRAPH,
        GRAPH_APP_ID: GRAPH,
        TOKEN_EXCHANGE_AUDIENCE: TOKEN_EXCHANGE,
        ctx.seed.api_app_id_uri: API,
        ctx.seed.client_id: API,
    }
    for surface, kind in (("management", ARM), ("graph", GRAPH)):
        if surface in ctx.urls:
            known[ctx.urls[surface]] = kind
    return known.get(key)


def audiences(ctx: Context, kind: str) -> set[str]:
    """Every `aud` value a resource server of `kind` accepts."""
    if kind == VAULT:
        # Exactly these two: AKV10022 for anything else (AZURE-PROTOCOLS.md 1.2).
        return {"https://vault.azure.net", KEY_VAULT_APP_ID}
    if kind == ARM:
        bases = ["https://management.azure.com", "https://management.core.windows.net"]
        if "management" in ctx.urls:
            bases.append(ctx.urls["management"])
        return {variant for base in bases for variant in (base, base + "/")} | {ARM_APP_ID}
    if kind == GRAPH:
        bases = ["https://graph.microsoft.com"]
        if "graph" in ctx.urls:
            bases.append(ctx.urls["graph"])
        return {variant for base in bases for variant in (base, base + "/")} | {GRAPH_APP_ID}
    raise ValueError(kind)


def app_roles(ctx: Context, principal_id: str, resource: str) -> list[str]:
    """App roles `principal_id` holds on `resource` (only Graph has app roles here)."""
    if resource_kind(ctx, resource) == GRAPH:
        return ctx.directory.app_roles(principal_id)
    return []


def resource_app_id(ctx: Context, resource: str) -> str:
    """The app id of the resource principal a resource identifier names (lower case; itself if unknown)."""
    kind = resource_kind(ctx, resource)
    ids = {VAULT: KEY_VAULT_APP_ID, ARM: ARM_APP_ID, GRAPH: GRAPH_APP_ID, API: ctx.seed.client_id}
    return ids.get(kind or "", resource).lower()
