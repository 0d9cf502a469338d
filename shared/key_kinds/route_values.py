"""The route values of ``/api/keys/{kind}/{name}?type=``, judged before any outbound call (400s)."""

from __future__ import annotations

from ..errors import BadRequest
from .key_type import KeyType, parse_key_type
from .kinds import KINDS, KeyKind


def parse_kind(value: str) -> KeyKind:
    kind = KINDS.get(value)
    if kind is None:
        raise BadRequest(f"The kind must be one of {', '.join(KINDS)}.")
    return kind


def validate_name(kind: KeyKind, value: str) -> str:
    if not kind.name_pattern.fullmatch(value):
        raise BadRequest(f"The name must be a {kind.title} name: {kind.name_rule}.")
    return value


def key_type_for(kind: KeyKind, value: str | None) -> KeyType:
    """``type`` (default ``readonly``); ``readonly`` of a kind without read-only keys is refused, never widened."""
    key_type = parse_key_type(value)
    if kind.action(key_type) is None:
        raise BadRequest(
            f"A {kind.title} has no read-only keys: ask for type=readwrite (which needs a ReadWrite role)."
        )
    return key_type


def parse_key_request(kind: str, name: str, key_type: str | None) -> tuple[KeyKind, str, KeyType]:
    parsed = parse_kind(kind)
    return parsed, validate_name(parsed, name), key_type_for(parsed, key_type)
