"""Room codes (short, read aloud), room keys and student tokens (secrets), and how they are compared: a room
holds only a secret's :func:`digest` (so does its store), never the secret itself."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Optional

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: a code read aloud or off a projector is unambiguous
CODE_LENGTH = 8  # 31**8: about 39 bits
KEY_BYTES = 24  # 192 bits
TOKEN_BYTES = 18  # 144 bits


def new_code() -> str:
    """A fresh code, without its hyphen (:func:`shown` adds it)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def shown(code: str) -> str:
    """``K7QMX3PA`` as it is displayed and read aloud: ``K7QM-X3PA``."""
    half = len(code) // 2
    return f"{code[:half]}-{code[half:]}"


def normalize(text: str) -> Optional[str]:
    """The code a user typed (any case, with or without hyphen or spaces), or None if it cannot be one."""
    code = text.replace("-", "").replace(" ", "").upper()
    if len(code) != CODE_LENGTH or any(c not in ALPHABET for c in code):
        return None
    return code


def new_key() -> str:
    return secrets.token_urlsafe(KEY_BYTES)


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def digest(secret: str) -> str:
    """The SHA-256 (hex) of a key or token: what a room keeps and stores in place of the secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def matches(given: Optional[str], secret_digest: str) -> bool:
    """Whether ``given`` is the secret whose :func:`digest` is ``secret_digest``, in constant time."""
    return isinstance(given, str) and hmac.compare_digest(digest(given), secret_digest)
