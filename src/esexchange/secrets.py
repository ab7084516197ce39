"""Secrets at rest: passwords and client secrets are stored encrypted, never in clear.

Encryption is Fernet (AES-128-CBC with HMAC-SHA256, from ``cryptography``). The key
comes from, in this order:

1. the environment variable ``ESEXCHANGE_SECRET_KEY`` (a urlsafe base64 Fernet key);
2. the key file named by ``ESEXCHANGE_KEY_FILE``, by default
   ``~/.config/esexchange/secret.key``, created with mode 0600 on first use.

Whoever holds the key and the database holds the secrets: keep the key file out of
database backups. A secret never appears in an error message or a log line; errors name
the connection it belongs to and say what to do.

Errors::

    SecretError            anything about stored secrets (an EsExchangeError)
    ├── SecretKeyUnusable  the key in the environment or key file cannot be used
    └── SecretUnreadable   a stored secret was encrypted with another key
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from esexchange.domain.errors import EsExchangeError

KEY_ENV = "ESEXCHANGE_SECRET_KEY"
KEY_FILE_ENV = "ESEXCHANGE_KEY_FILE"
DEFAULT_KEY_FILE = Path("~/.config/esexchange/secret.key")


class SecretError(EsExchangeError):
    """A stored secret cannot be written or read."""


class SecretKeyUnusable(SecretError):
    """The encryption key in the environment or the key file cannot be used."""


class SecretUnreadable(SecretError):
    """A stored secret cannot be decrypted with the present key."""


class SecretBox:
    """Encrypts and decrypts secrets with one key; ``source`` says where the key came from."""

    def __init__(self, key: bytes, *, source: str) -> None:
        try:
            self._fernet = Fernet(key)
        except ValueError:
            raise SecretKeyUnusable(
                f"the encryption key from {source} is not a Fernet key (32 bytes, urlsafe "
                "base64); generate one with: python -c 'from cryptography.fernet import "
                "Fernet; print(Fernet.generate_key().decode())'"
            ) from None
        self.source = source

    def __repr__(self) -> str:  # never show the key
        return f"SecretBox(source={self.source!r})"

    def encrypt(self, secret: str) -> str:
        """The secret encrypted, as ASCII text for a database column."""
        return self._fernet.encrypt(secret.encode()).decode("ascii")

    def decrypt(self, token: str, *, owner: str) -> str:
        """The clear secret of ``token``; ``owner`` names what it belongs to, for errors."""
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode()
        except (InvalidToken, UnicodeError):
            raise SecretUnreadable(
                f"the stored secret of {owner} cannot be decrypted with the key from "
                f"{self.source}: it was stored with another key. Restore that key, or "
                "enter the secret again with `esexchange connection secret NAME`"
            ) from None


def secret_box(environ: Mapping[str, str] | None = None) -> SecretBox:
    """The ``SecretBox`` for this environment (``os.environ`` unless given).

    Creates the key file, with mode 0600 in a 0700 directory, when no key exists yet.
    """
    env = os.environ if environ is None else environ
    key = env.get(KEY_ENV, "").strip()
    if key:
        return SecretBox(key.encode("ascii", "replace"), source=f"${KEY_ENV}")
    path = Path(env.get(KEY_FILE_ENV) or DEFAULT_KEY_FILE).expanduser()
    return SecretBox(_read_or_create_key_file(path), source=f"the key file {path}")


def _read_or_create_key_file(path: Path) -> bytes:
    try:
        return _read_key_file(path)
    except FileNotFoundError:
        pass
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # O_EXCL: two processes starting at once must not write two different keys.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key_file(path)
    except OSError as error:
        raise SecretKeyUnusable(
            f"cannot create the key file {path} ({error.strerror}); set {KEY_FILE_ENV} to a "
            f"writable path or {KEY_ENV} to a key"
        ) from None
    key = Fernet.generate_key()
    with os.fdopen(fd, "wb") as file:
        file.write(key + b"\n")
    return key


def _read_key_file(path: Path) -> bytes:
    """The key in ``path``; ``FileNotFoundError`` when there is none yet."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise
    except OSError as error:
        raise SecretKeyUnusable(f"cannot read the key file {path} ({error.strerror})") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SecretKeyUnusable(
            f"the key file {path} can be read by other users (mode {stat.filemode(mode)}); "
            f"run: chmod 600 {path}"
        )
    try:
        return path.read_bytes().strip()
    except OSError as error:
        raise SecretKeyUnusable(f"cannot read the key file {path} ({error.strerror})") from None
