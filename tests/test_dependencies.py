"""requirements.txt admits only dependency versions that have the APIs the code calls."""

import inspect
from pathlib import Path

import jwt
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


def _requirement(name: str) -> Requirement:
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and Requirement(line).name.lower() == name.lower():
            return Requirement(line)
    raise AssertionError(f"{name} is not in requirements.txt")


def test_pyjwt_floor_has_the_jwks_client_options_the_caller_check_uses():
    # PyJWKClient(cooldown_duration=...) arrived in PyJWT 2.14.0 (absent from the 2.13.0 wheel);
    # an older install would answer every protected route with a 500.
    specifier = _requirement("PyJWT").specifier
    assert not specifier.contains("2.13.0")
    assert specifier.contains("2.14.0")
    used = {"cache_keys", "cache_jwk_set", "lifespan", "timeout", "ssl_context", "cooldown_duration"}
    assert used <= set(inspect.signature(jwt.PyJWKClient).parameters)
