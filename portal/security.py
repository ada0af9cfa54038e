"""Keyed hashes for exact look-ups and public ids, and slow hashes for secrets."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
import unicodedata

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
#: What people type between the groups of a code (after NFKC folding): spaces and dashes.
CODE_SEPARATORS = frozenset(" \t-‐‑‒–—―−_.·")


def lookup_hash(key: str, identifier: str) -> str:
    """HMAC-SHA256 of a normalised identifier: lets /check match a full ID without storing it."""
    value = normalise(identifier)
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()


def public_id(key: str, prefix: str, seed: str) -> str:
    """A stable, unguessable public id (``E`` + 10 base32 chars) derived from an internal number."""
    digest = hmac.new(key.encode(), f"{prefix}:{seed}".encode(), hashlib.sha256).digest()
    return prefix + base64.b32encode(digest).decode()[:10]


def group_code(raw: str, size: int = 4) -> str:
    """A code in groups for reading and typing: ``7KQ3M9XP2B`` -> ``7KQ3-M9XP-2B``."""
    return "-".join(raw[i:i + size] for i in range(0, len(raw), size))


def new_code(length: int = 10) -> str:
    """A random access or query code, grouped for reading (e.g. ``7KQ3-M9XP-2B``)."""
    return group_code("".join(secrets.choice(CODE_ALPHABET) for _ in range(length)))


#: Characters of a letter's verification code (:func:`letter_code`): 31^12, about 59 bits.
LETTER_CODE_LENGTH = 12


def letter_code(key: str, letter_no: str, letter_id: int, issued_on: dt.date) -> str:
    """The verification code printed on a numbered letter (e.g. ``7KQ3-M9XP-2BWD``).

    Derived, never stored: an HMAC-SHA256 under the lookup key, separated from its other
    uses by its own label, of the letter's number, register id and date of issue, written
    with the codes' alphabet. Ungrouped (:func:`canonical_letter_code`) it is the value that
    is compared.
    """
    message = f"letter-verification:v1:{letter_no}:{letter_id}:{issued_on.isoformat()}"
    value = int.from_bytes(hmac.new(key.encode(), message.encode(), hashlib.sha256).digest(), "big")
    chars = []
    for _ in range(LETTER_CODE_LENGTH):
        value, index = divmod(value, len(CODE_ALPHABET))
        chars.append(CODE_ALPHABET[index])
    return group_code("".join(chars))


def canonical_letter_code(typed: str) -> str | None:
    """A typed verification code as compared (upper case, no separators, full-width letters and
    digits folded), or ``None`` when it cannot be one: wrong length or a character outside the
    alphabet."""
    folded = unicodedata.normalize("NFKC", typed or "").upper()
    raw = "".join(ch for ch in folded if ch not in CODE_SEPARATORS)
    if len(raw) != LETTER_CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in raw):
        return None
    return raw


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


def token_digest(token: str) -> str:
    """What is stored of a bearer token (a session, an API client's, a feed's or a result
    file's secret address): its SHA-256 in hex. The token has 256 random bits, so a plain
    hash is enough; it is looked up by equality."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def fernet(secret: str, purpose: bytes):
    """A Fernet (AES-128-CBC with an HMAC) under a key derived from ``secret`` (the shared
    ``SECRET_KEY``) for one ``purpose`` (HKDF's info: each use has a key of its own)."""
    from cryptography.fernet import Fernet
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=purpose).derive(secret.encode("utf-8"))
    return Fernet(base64.urlsafe_b64encode(key))
