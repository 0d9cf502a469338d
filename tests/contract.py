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


def problem_errors(document: dict[str, Any], body: Any) -> list[str]:
    """Where ``body`` departs from the (closed) ``Problem`` schema: for answers the document lists
    without content (the app's 401 shares its status with the host's bodyless one)."""
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    registry = Registry().with_resource(
        "urn:contract", Resource.from_contents(closed(document), default_specification=DRAFT202012)
    )
    validator = Draft202012Validator({"$ref": "urn:contract#/components/schemas/Problem"}, registry=registry)
    return [error.message for error in validator.iter_errors(body)]
