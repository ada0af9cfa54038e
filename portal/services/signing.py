"""Ed25519 signing of query certificates with the key of ``PORTAL_CERT_SIGNING_KEY``.

The setting holds the 32-byte Ed25519 seed in base64. The public key is
published at ``/certificates/public-key`` (PEM) and ``/certificates/public-key.json``;
its key id is the first 16 hex characters of the SHA-256 of the raw 32-byte
public key, so a certificate names the key that signed it.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALGORITHM = "Ed25519"


class BadSigningKey(ValueError):
    """The configured signing key is not the base64 of a 32-byte seed."""


def key_id_of(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


@dataclass(frozen=True)
class Signer:
    private: Ed25519PrivateKey

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @property
    def key_id(self) -> str:
        return key_id_of(self.public)

    def public_raw(self) -> bytes:
        return self.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    def public_pem(self) -> str:
        return self.public.public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    def sign(self, data: bytes) -> str:
        """The base64 signature of ``data``."""
        return base64.b64encode(self.private.sign(data)).decode()


@lru_cache(maxsize=4)
def signer(seed_b64: str) -> Signer:
    try:
        seed = base64.b64decode((seed_b64 or "").strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadSigningKey("PORTAL_CERT_SIGNING_KEY is not valid base64") from exc
    if len(seed) != 32:
        raise BadSigningKey("PORTAL_CERT_SIGNING_KEY must be the base64 of 32 bytes")
    return Signer(Ed25519PrivateKey.from_private_bytes(seed))


def load_public_pem(pem: bytes | str) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem.encode() if isinstance(pem, str) else pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def verify(public: Ed25519PublicKey, data: bytes, signature_b64: str) -> bool:
    """Does ``signature_b64`` sign ``data`` under ``public``? (False for a malformed one.)"""
    try:
        public.verify(base64.b64decode(signature_b64, validate=True), data)
    except (InvalidSignature, binascii.Error, ValueError, TypeError):
        return False
    return True
