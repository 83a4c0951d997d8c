"""Every setting is checked before `serve` listens, and each mistake is one line on stderr that
names the setting, shows its value (secrets masked) and says what is wrong; exit status 1."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from pydantic import ValidationError

from slotblock.config import Settings
from slotblock.config_errors import describe, masked, unreachable_database
from tests.live import free_port

SLOTBLOCK = [sys.executable, "-m", "slotblock"]


def _pem(key: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


EC_KEY = _pem(ec.generate_private_key(ec.SECP256R1()))


def serve(**settings: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLOTBLOCK_")}
    env.update({f"SLOTBLOCK_{k.upper()}": v for k, v in settings.items()})
    return subprocess.run(
        [*SLOTBLOCK, "serve", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("settings", "starts", "says"),
    [
        (
            {"redis_url": "htp://cache:6379"},
            "error: SLOTBLOCK_REDIS_URL=htp://cache:6379: ",
            "redis://",
        ),
        (
            {"redis_url": "redis://:hunter2@cache:6379/zero"},
            "error: SLOTBLOCK_REDIS_URL=redis://:***@cache:6379/zero: ",
            "must be a number",
        ),
        (
            {"webhook_signing_key": "-----BEGIN PRIVATE KEY-----\nhunter2\n"},
            "error: SLOTBLOCK_WEBHOOK_SIGNING_KEY=***: ",
            "PEM",
        ),
        (
            {"webhook_signing_key": EC_KEY},
            "error: SLOTBLOCK_WEBHOOK_SIGNING_KEY=***: ",
            "Ed25519",
        ),
        (
            {"forwarded_allow_ips": "127.0.0.1,proxy.internal"},
            "error: SLOTBLOCK_FORWARDED_ALLOW_IPS=127.0.0.1,proxy.internal: ",
            "'proxy.internal' is not an IP address",
        ),
        (
            {"database_url": "postgresql://app:hunter2@127.0.0.1:1/none"},
            "error: SLOTBLOCK_DATABASE_URL=postgresql://app:***@127.0.0.1:1/none: ",
            "cannot reach the database at 127.0.0.1:1: ConnectionRefusedError",
        ),
    ],
)
def test_a_bad_setting_is_one_line_before_listening(
    settings: dict[str, str], starts: str, says: str
) -> None:
    result = serve(**settings)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(starts), lines[0]
    assert says in lines[0]
    assert "hunter2" not in result.stderr


def test_a_good_signing_key_and_redis_url_are_accepted() -> None:
    key = _pem(ed25519.Ed25519PrivateKey.generate())
    settings = Settings(
        webhook_signing_key=key,
        redis_url="rediss://user:pw@cache.internal:6380/2",
        forwarded_allow_ips="127.0.0.1, 10.0.0.0/8, ::1, *",
    )
    assert settings.webhook_signing_key == key
    assert Settings(redis_url="unix:///run/redis.sock").redis_url == "unix:///run/redis.sock"


def test_secrets_are_masked_in_the_description() -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(admin_token="short")
    assert describe(caught.value).startswith("SLOTBLOCK_ADMIN_TOKEN=***: ")
    assert masked("database_url", "postgresql://u:p%40ss@h/db") == "postgresql://u:***@h/db"
    assert masked("database_url", "sqlite:///data/x.db") == "sqlite:///data/x.db"


def test_an_unreachable_database_names_the_host_and_the_cause() -> None:
    try:
        try:
            raise ConnectionRefusedError(111, "Connect call failed ('10.1.2.3', 5433)")
        except OSError as exc:
            raise RuntimeError("the database is unavailable; retry later") from exc
    except RuntimeError as outer:
        line = unreachable_database("postgresql://app:secret@db.internal:5433/app", outer)
    assert line == (
        "SLOTBLOCK_DATABASE_URL=postgresql://app:***@db.internal:5433/app: cannot reach the "
        "database at db.internal:5433: ConnectionRefusedError: [Errno 111] Connect call failed "
        "('10.1.2.3', 5433)"
    )
