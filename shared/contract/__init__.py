"""The HTTP contract as the code declares it: routes, component schemas, examples, problem types.

shared/openapi.py renders it as the OpenAPI document. A new route is one more ``Operation`` in
operations.py, its 200's schema in schemas.py and an example in examples.py; model.py refuses an
operation or parameter that would not generate a clean client (see shared/openapi.py).
"""

from __future__ import annotations

from .model import (
    NO_STORE,
    OPERATION_ID,
    OPERATION_VERBS,
    TITLE,
    VERSION,
    Operation,
    Parameter,
    Success,
    ref,
)
from .operations import OPERATIONS
from .problems import ABOUT_BLANK, HOST_NOT_FOUND, error_response, problem_examples, problem_types
from .schemas import component_schemas

__all__ = [
    "ABOUT_BLANK",
    "HOST_NOT_FOUND",
    "NO_STORE",
    "OPERATIONS",
    "OPERATION_ID",
    "OPERATION_VERBS",
    "TITLE",
    "VERSION",
    "Operation",
    "Parameter",
    "Success",
    "component_schemas",
    "error_response",
    "problem_examples",
    "problem_types",
    "ref",
]
