"""The HTTP contract as an OpenAPI 3.1 document, generated from the code it describes.

Layout: model.py (what an operation is declared with), operations.py (the routes), schemas.py
(components), examples.py (successes), problems.py (problem types, error responses), document.py
(putting it together).

Every constraint in it is read from the module that enforces it (the account-name pattern, the key
types, the ``limit`` range, the ``select`` grammar, the app roles, the problem types), so a changed
rule changes the document. What cannot be read from code — which routes exist, which statuses each
answers, what a success looks like — is declared once in ``OPERATIONS`` (operations.py) and checked
against ``function_app``'s registered functions by tests/test_openapi.py; tests/e2e validates every
response the end-to-end suite receives against the document. ``openapi.json`` at the repository
root is this document as committed (a test keeps them equal); ``GET /api/openapi.json`` serves it.

The document is written for client generators (tests/test_openapi_clients.py runs
openapi-python-client and datamodel-code-generator on it), so it is shaped by construction:

* every operation has a verb-form ``operationId`` and an example of its 200, every parameter an
  example (model.py refuses an ``Operation`` or ``Parameter`` without); every problem type has an
  example (problems.py, checked when building);
* every enum and every object is a named component (schemas.py), referenced where used — an
  inline enum or object would be named by each generator after its first use, and two uses then
  conflict; ``Parameter`` refuses an inline enum, and a test walks the document for any left inline;
* a flag is a ``boolean`` (OpenAPI's form style sends ``true``/``false``, what ``parse_flag`` reads);
* the host's own answers (401 for a missing or wrong function key, 404 for a disabled function) have
  no body, so their responses declare no content: a generated client must not try to parse one.
"""

from __future__ import annotations

from .document import (
    ENTRA_BEARER,
    FUNCTION_KEY_HEADER,
    FUNCTION_KEY_QUERY,
    ROLES_EXTENSION,
    ROUTE_PREFIX,
    build_document,
    document_json,
)
from .model import OPERATION_ID, OPERATION_VERBS, Operation, Parameter, Success, ref
from .operations import OPERATIONS
from .problems import ABOUT_BLANK, problem_types

__all__ = [
    "ABOUT_BLANK",
    "ENTRA_BEARER",
    "FUNCTION_KEY_HEADER",
    "FUNCTION_KEY_QUERY",
    "OPERATIONS",
    "OPERATION_ID",
    "OPERATION_VERBS",
    "ROLES_EXTENSION",
    "ROUTE_PREFIX",
    "Operation",
    "Parameter",
    "Success",
    "build_document",
    "document_json",
    "problem_types",
    "ref",
]
