"""The OpenAPI document as the test suites check answers against it: closed.

The published document leaves our own objects open (no ``additionalProperties``), so a field added
later does not break a client generated from an older document. The tests check the reverse: every
field the code returns is documented. ``closed`` sets ``additionalProperties: false`` on every
component object that does not choose for itself (ARM's, Graph's and a problem's do: they carry
fields the document cannot list).
"""

from __future__ import annotations

import copy
from typing import Any


def closed(document: dict[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(document)
    for schema in result["components"]["schemas"].values():
        if "properties" in schema and "additionalProperties" not in schema:
            schema["additionalProperties"] = False
    return result
