"""Keyed hashes for exact look-ups and public ids, and slow hashes for secrets."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from portal.rules.identifiers import normalise

# Staff passwords are chosen by people (low entropy): full Argon2 cost.
_password_hasher = PasswordHasher()
# Access and query codes are random (10 chars of 31 ≈ 50 bits): a light Argon2
# profile is ample against an offline attack and keeps /track and seeding fast.
_code_hasher = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
# Codes people type from a letter: no 0/O, 1/I/L confusion.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def lookup_hash(key: str, identifier: str) -> str:
    """HMAC-SHA256 of a normalised identifier: lets /check match a full ID without storing it."""
    value = normalise(identifier)
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()


def public_id(key: str, prefix: str, seed: str) -> str:
    """A stable, unguessable public id (``E`` + 10 base32 chars) derived from an internal number."""
    digest = hmac.new(key.encode(), f"{prefix}:{seed}".encode(), hashlib.sha256).digest()
    return prefix + base64.b32encode(digest).decode()[:10]


def new_code(length: int = 10) -> str:
    """A random access or query code, grouped for reading (e.g. ``7KQ3-M9XP-2B``)."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))
    return "-".join(raw[i:i + 4] for i in range(0, length, 4))


def is_code(code: str, length: int = 10) -> bool:
    """Is ``code`` (separators aside) one :func:`new_code` could have made?"""
    raw = code.replace("-", "")
    return len(raw) == length and all(ch in CODE_ALPHABET for ch in raw)


def hash_password(password: str) -> str:
    return _password_hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    return _verify(_password_hasher, stored, password)


def password_needs_rehash(stored: str) -> bool:
    return _password_hasher.check_needs_rehash(stored)


def hash_code(code: str) -> str:
    """Hash an access or query code (case- and separator-insensitive)."""
    return _code_hasher.hash(_canonical_code(code))


def verify_code(stored: str | None, code: str) -> bool:
    return _verify(_code_hasher, stored, _canonical_code(code or ""))


def _verify(hasher: PasswordHasher, stored: str | None, secret: str) -> bool:
    if not stored or not secret:
        return False
    try:
        return hasher.verify(stored, secret)
    except (VerificationError, InvalidHashError):
        return False



def _canonical_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())
