"""`slotblock webhook add|list|remove|keygen`, and the new operations in /openapi.json."""

from __future__ import annotations

import base64

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from typer.testing import CliRunner

from slotblock.cli import app
from slotblock.service.webhooks import Signer
from tests.cli.test_cli import ok, run


def test_webhook_add_list_remove(database_url: str) -> None:
    location = ok(database_url, "location", "create", "--name", "L", "--timezone", "UTC")
    hook = ok(database_url, "webhook", "add", "--location", location,
              "--url", "https://example.com/hook", "--event", "BlockedSlotDelete")  # fmt: skip
    listed = ok(database_url, "webhook", "list")
    assert listed == f"{hook}\t{location}\thttps://example.com/hook\tBlockedSlotDelete"
    assert ok(database_url, "webhook", "list", "--location", "other") == ""
    assert run(database_url, "webhook", "remove", hook).returncode == 0
    assert ok(database_url, "webhook", "list") == ""
    missing = run(database_url, "webhook", "remove", hook)
    assert missing.returncode == 1 and f"webhook {hook} not found" in missing.stderr
    bad = run(database_url, "webhook", "add", "--location", location, "--url", "nope")
    assert bad.returncode == 1 and "url must be" in bad.stderr


def test_webhook_add_inside_the_network_needs_the_operators_allowance(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    location = ok(database_url, "location", "create", "--name", "L", "--timezone", "UTC")
    add = ("webhook", "add", "--location", location, "--url", "http://127.0.0.1:9000/hook")
    monkeypatch.delenv("SLOTBLOCK_OUTBOUND_ALLOW_NETWORKS", raising=False)
    refused = run(database_url, *add)
    assert refused.returncode == 1
    assert "url host 127.0.0.1 is a loopback address" in refused.stderr
    monkeypatch.setenv("SLOTBLOCK_OUTBOUND_ALLOW_NETWORKS", "127.0.0.0/8")
    assert len(ok(database_url, *add)) == 20
    monkeypatch.setenv("SLOTBLOCK_OUTBOUND_ALLOW_NETWORKS", "127.0.0.0/33")
    misconfigured = run(database_url, *add)
    assert misconfigured.returncode != 0
    assert "SLOTBLOCK_OUTBOUND_ALLOW_NETWORKS=127.0.0.0/33" in misconfigured.stderr


def test_keygen_prints_a_pair_that_signs_and_verifies() -> None:
    result = CliRunner().invoke(app, ["webhook", "keygen"])
    assert result.exit_code == 0
    private_end = result.stdout.index("-----END PRIVATE KEY-----") + len(
        "-----END PRIVATE KEY-----\n"
    )
    private_pem, rest = result.stdout[:private_end], result.stdout[private_end:]
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    public = serialization.load_pem_public_key(
        rest[: rest.index("-----END PUBLIC KEY-----") + 24].encode()
    )
    assert isinstance(public, Ed25519PublicKey)
    signature = Signer(private_pem).headers(b"{}")["x-ghl-signature"]
    public.verify(base64.b64decode(signature), b"{}")
    with pytest.raises(ValueError, match="Ed25519"):
        other = ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        Signer(other.decode())
    assert Signer(None).headers(b"{}") == {}


@pytest.mark.anyio
async def test_the_new_operations_are_documented(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    paths = document["paths"]
    changes = paths["/calendars/blocked-slots/changes"]["get"]
    assert changes["description"].startswith("**Extension**")
    assert {p["name"] for p in changes["parameters"]} >= {"syncToken", "pageToken", "maxResults"}
    assert "410" in changes["responses"]
    assert set(paths["/calendars/webhooks"]) == {"get", "post"}
    assert "delete" in paths["/calendars/webhooks/{subscriptionId}"]
    # the admin API is off here: its webhook operations are in the document once it is on
    assert not any(path.startswith("/_admin/") for path in paths)
    put = paths["/calendars/events/block-slots/{eventId}"]["put"]
    assert "If-Match" in {p["name"] for p in put["parameters"]}
    assert "412" in put["responses"] and "ETag" in put["responses"]["201"]["headers"]
    create = paths["/calendars/events/block-slots"]["post"]
    assert "Idempotency-Key" in {p["name"] for p in create["parameters"]}
    read = paths["/calendars/events/block-slots/{eventId}"]["get"]
    assert "If-None-Match" in {p["name"] for p in read["parameters"]} and "304" in read["responses"]
