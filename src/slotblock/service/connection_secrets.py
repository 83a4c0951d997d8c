"""Sealing the passwords and tokens of connected calendars (Fernet: AES-128-CBC with an
HMAC-SHA256, from `cryptography`), with a key derived (HKDF-SHA256) from
SLOTBLOCK_CONNECTION_KEY. Only the sync opens a secret, to make its request; no answer,
listing or export carries one. Without the setting, a secret cannot be stored (422).

A calendar's address (its URL) is sealed the same way when the key is set; without it,
it is kept as given (an address is needed for every connection, a key is not) — either
way it is read by the sync only (core/connection_address.py)."""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from slotblock.core.errors import Unprocessable

_INFO = b"slotblock connection secrets v1"


class SecretUnreadable(Exception):
    """A sealed secret that this key cannot open (the key changed)."""


class SecretBox:
    def __init__(self, key: str | None) -> None:
        self._fernet = None if key is None else Fernet(_derive(key))

    def seal(self, secret: str) -> str:
        if self._fernet is None:
            raise Unprocessable(
                "a connection with a password or token needs SLOTBLOCK_CONNECTION_KEY set on "
                "the server (the key that seals it)"
            )
        return self._fernet.encrypt(secret.encode()).decode("ascii")

    @property
    def has_key(self) -> bool:
        return self._fernet is not None

    def seal_address(self, url: str) -> str:
        """The URL sealed, or as given when there is no key."""
        return url if self._fernet is None else self.seal(url)

    def open_address(self, stored: str) -> str:
        """The URL of `seal_address` (a Fernet token never holds `:`; a URL always does)."""
        return stored if is_unsealed(stored) else self.open(stored)

    def open(self, sealed: str) -> str:
        if self._fernet is None:
            raise SecretUnreadable("SLOTBLOCK_CONNECTION_KEY is not set")
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode()
        except InvalidToken as exc:
            raise SecretUnreadable(
                "the stored password or address cannot be opened with SLOTBLOCK_CONNECTION_KEY"
            ) from exc


def is_unsealed(stored: str) -> bool:
    return stored.startswith(("http://", "https://"))


def _derive(key: str) -> bytes:
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(key.encode())
    return base64.urlsafe_b64encode(raw)
