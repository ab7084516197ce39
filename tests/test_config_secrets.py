"""Secrets at rest: Fernet with a key from the environment or a 0600 key file."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from esexchange.secrets import SecretKeyUnusable, SecretUnreadable, secret_box

PASSWORD = "Winter2026!äß"


def test_a_secret_round_trips_and_is_not_stored_in_clear(tmp_path: Path) -> None:
    box = secret_box({"ESEXCHANGE_KEY_FILE": str(tmp_path / "secret.key")})
    token = box.encrypt(PASSWORD)
    assert PASSWORD not in token
    assert box.decrypt(token, owner="connection 'contoso'") == PASSWORD


def test_the_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "config" / "esexchange" / "secret.key"
    env = {"ESEXCHANGE_KEY_FILE": str(path)}
    token = secret_box(env).encrypt(PASSWORD)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert secret_box(env).decrypt(token, owner="x") == PASSWORD  # a second process


def test_a_key_file_others_can_read_is_refused_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    path.write_bytes(Fernet.generate_key())
    path.chmod(0o644)
    with pytest.raises(SecretKeyUnusable, match=f"chmod 600 {path}"):
        secret_box({"ESEXCHANGE_KEY_FILE": str(path)})


def test_the_environment_key_wins_over_the_key_file(tmp_path: Path) -> None:
    key = Fernet.generate_key().decode()
    env = {"ESEXCHANGE_SECRET_KEY": key, "ESEXCHANGE_KEY_FILE": str(tmp_path / "unused.key")}
    token = secret_box(env).encrypt(PASSWORD)
    assert Fernet(key).decrypt(token.encode()).decode() == PASSWORD
    assert not (tmp_path / "unused.key").exists()


def test_a_malformed_environment_key_says_how_to_make_one() -> None:
    with pytest.raises(SecretKeyUnusable, match=r"ESEXCHANGE_SECRET_KEY.*generate_key"):
        secret_box({"ESEXCHANGE_SECRET_KEY": "not-a-key"})


def test_a_secret_stored_with_another_key_names_its_owner_and_the_remedy(
    tmp_path: Path,
) -> None:
    token = secret_box({"ESEXCHANGE_SECRET_KEY": Fernet.generate_key().decode()}).encrypt(
        PASSWORD
    )
    other = secret_box({"ESEXCHANGE_KEY_FILE": str(tmp_path / "new.key")})
    with pytest.raises(SecretUnreadable) as raised:
        other.decrypt(token, owner="connection 'contoso'")
    message = str(raised.value)
    assert "connection 'contoso'" in message
    assert "esexchange connection secret" in message
    assert str(tmp_path / "new.key") in message
    assert PASSWORD not in message


def test_the_box_never_shows_its_key(tmp_path: Path) -> None:
    key = Fernet.generate_key().decode()
    box = secret_box({"ESEXCHANGE_SECRET_KEY": key})
    assert key not in repr(box)
    assert key not in str(box)
