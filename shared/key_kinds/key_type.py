"""The two sorts of keys a caller may ask for: ``readonly`` (the default) and ``readwrite``."""

from __future__ import annotations

from enum import StrEnum

from ..errors import BadRequest


class KeyType(StrEnum):
    READONLY = "readonly"
    READWRITE = "readwrite"


def parse_key_type(value: str | None) -> KeyType:
    if value is None:
        return KeyType.READONLY
    try:
        return KeyType(value)
    except ValueError:
        raise BadRequest("Query parameter 'type' must be 'readonly' or 'readwrite'.") from None
