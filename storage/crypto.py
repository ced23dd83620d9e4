"""Encryption of personal fields at rest: AES-GCM per value, and a keyed blind index.

Every personal column uses :class:`EncryptedText` (or its float and JSON siblings). A stored
value is ``version | key-id length | key id | nonce | ciphertext+tag``; the column's name is
bound in as associated data, so a value copied into another column does not decrypt.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import LargeBinary
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

_FORMAT = 1
_NONCE = 12


class WrongKeyError(Exception):
    """A stored value was encrypted under a key we do not hold, or was tampered with."""


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret)


@dataclass(frozen=True)
class DataKey:
    """One data key: derived encryption and blind-index keys, and a public key id."""

    key_id: str
    encryption_key: bytes
    index_key: bytes

    @classmethod
    def from_secret(cls, secret: str | bytes) -> DataKey:
        """Derive a data key from any high-entropy secret (the configured key or key file)."""
        raw = secret.encode() if isinstance(secret, str) else secret
        encryption = _derive(raw, b"mistri/encryption/v1")
        # The id names the key without revealing it: a hash of a derived, unused value.
        key_id = hashlib.sha256(_derive(raw, b"mistri/key-id/v1")).hexdigest()[:8]
        return cls(key_id, encryption, _derive(raw, b"mistri/blind-index/v1"))


def new_secret() -> str:
    """Return a new random secret suitable for ``MISTRI_DATA_KEY``."""
    return os.urandom(32).hex()


class Keyring:
    """The current key (used to encrypt) and older keys (still accepted to decrypt)."""

    def __init__(self, current: DataKey, older: tuple[DataKey, ...] = ()) -> None:
        self.current = current
        self._by_id = {key.key_id: key for key in (*older, current)}
        self._aead = {key.key_id: AESGCM(key.encryption_key) for key in self._by_id.values()}
        self._id_bytes = current.key_id.encode()

    def encrypt(self, plaintext: bytes, purpose: str) -> bytes:
        """Encrypt under the current key with a fresh random nonce."""
        nonce = os.urandom(_NONCE)
        sealed = self._aead[self.current.key_id].encrypt(nonce, plaintext, purpose.encode())
        return bytes((_FORMAT, len(self._id_bytes))) + self._id_bytes + nonce + sealed

    def decrypt(self, blob: bytes, purpose: str) -> bytes:
        """Decrypt a value produced by :meth:`encrypt` under any key of the ring."""
        if len(blob) < 2 or blob[0] != _FORMAT:
            raise WrongKeyError("unknown encrypted value format")
        id_end = 2 + blob[1]
        key_id = blob[2:id_end].decode("ascii", "replace")
        aead = self._aead.get(key_id)
        if aead is None:
            raise WrongKeyError(f"value encrypted under key {key_id}, which is not configured")
        nonce, sealed = blob[id_end : id_end + _NONCE], blob[id_end + _NONCE :]
        try:
            return aead.decrypt(nonce, sealed, purpose.encode())
        except InvalidTag as error:
            raise WrongKeyError(f"value under key {key_id} failed authentication") from error

    @staticmethod
    def key_id_of(blob: bytes) -> str:
        """Return the key id a stored value was encrypted under."""
        return blob[2 : 2 + blob[1]].decode("ascii", "replace")

    def blind_index(self, value: str) -> bytes:
        """Return a keyed HMAC of ``value``: equality lookups without storing plaintext."""
        return hmac.new(self.current.index_key, value.encode(), hashlib.sha256).digest()[:16]

    @classmethod
    def from_secrets(cls, secrets: Sequence[str]) -> Keyring:
        """Build a ring from secrets, the first current and the others decrypt-only."""
        if not secrets:
            raise ValueError("a keyring needs at least one secret")
        keys = [DataKey.from_secret(secret) for secret in secrets]
        return cls(keys[0], tuple(keys[1:]))

    @property
    def keys(self) -> tuple[DataKey, ...]:
        """Every key of the ring, the current one first."""
        older = (key for key in self._by_id.values() if key.key_id != self.current.key_id)
        return (self.current, *older)

    def holds(self, key_id: str) -> bool:
        """Tell whether a value encrypted under ``key_id`` can be decrypted with this ring."""
        return key_id in self._by_id

    @property
    def current_prefix(self) -> bytes:
        """Return the bytes every value encrypted under the current key starts with."""
        return bytes((_FORMAT, len(self._id_bytes))) + self._id_bytes

    def blind_indexes(self, value: str) -> list[bytes]:
        """Return ``value``'s blind index under every key of the ring, the current one first.

        While a rotation is under way a row may still be indexed under an older key, so a
        lookup matches any of these (``column IN (...)``).
        """
        return [
            hmac.new(key.index_key, value.encode(), hashlib.sha256).digest()[:16]
            for key in self.keys
        ]


_keyring: Keyring | None = None


def install_keyring(keyring: Keyring) -> None:
    """Make ``keyring`` the one every encrypted column uses."""
    global _keyring  # noqa: PLW0603 - one keyring per process, like the engine
    _keyring = keyring


def keyring() -> Keyring:
    """Return the installed keyring, or fail loudly: personal data is never stored in clear."""
    if _keyring is None:
        raise RuntimeError("no data key installed: call storage.crypto.install_keyring first")
    return _keyring


class _Encrypted(TypeDecorator[Any]):
    """Base of the encrypted column types: subclasses say how a value becomes bytes."""

    impl = LargeBinary
    cache_ok = True

    def __init__(self, purpose: str) -> None:
        super().__init__()
        self.purpose = purpose

    def encode(self, value: Any) -> bytes:
        """Turn a Python value into the plaintext bytes to encrypt."""
        raise NotImplementedError

    def decode(self, plaintext: bytes) -> Any:
        """Turn decrypted bytes back into the Python value."""
        raise NotImplementedError

    def process_bind_param(self, value: Any, dialect: Dialect) -> bytes | None:
        """Encrypt on the way in."""
        if value is None:
            return None
        return keyring().encrypt(self.encode(value), self.purpose)

    def process_result_value(self, value: bytes | None, dialect: Dialect) -> Any:
        """Decrypt on the way out."""
        if value is None:
            return None
        return self.decode(keyring().decrypt(bytes(value), self.purpose))


class EncryptedText(_Encrypted):
    """A text column stored AES-GCM encrypted; ``purpose`` (table.column) is bound in."""

    cache_ok = True

    def encode(self, value: str) -> bytes:
        """UTF-8."""
        return value.encode()

    def decode(self, plaintext: bytes) -> str:
        """UTF-8."""
        return plaintext.decode()


class EncryptedFloat(_Encrypted):
    """A float (latitude, longitude) stored encrypted."""

    cache_ok = True

    def encode(self, value: float) -> bytes:
        """The float's exact repr."""
        return repr(float(value)).encode()

    def decode(self, plaintext: bytes) -> float:
        """Parse the repr back."""
        return float(plaintext)


class EncryptedJSON(_Encrypted):
    """A JSON object stored encrypted (conversation answers)."""

    cache_ok = True

    def encode(self, value: dict[str, Any]) -> bytes:
        """Compact UTF-8 JSON."""
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()

    def decode(self, plaintext: bytes) -> dict[str, Any]:
        """Parse JSON."""
        decoded: dict[str, Any] = json.loads(plaintext)
        return decoded
