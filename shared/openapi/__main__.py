"""``python -m shared.openapi > openapi.json``: the committed document (tests/test_openapi.py keeps it equal)."""

from . import document_json

print(document_json(), end="")
