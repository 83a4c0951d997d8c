"""The outbound guard (service/outbound.py): URLs refused when they are given, destinations
checked on every resolved address at each call, the request sent to the checked address,
no redirects or environment proxies, and at most a few KB of an answer read."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator, Sequence
from ipaddress import ip_address

import pytest

from slotblock.core.addresses import IPAddress, parse_networks
from slotblock.core.errors import InvalidInput, Unprocessable
from slotblock.service.outbound import (
    Answer,
    DestinationRefused,
    OutboundClient,
    OutboundPolicy,
    Resolve,
    Unreachable,
)
from tests.changes.receiver import Receiver, receiving

pytestmark = pytest.mark.anyio
PUBLIC_ONLY = OutboundPolicy()
LOCAL = OutboundPolicy(parse_networks("127.0.0.1/32"))
MIB = 1024 * 1024

MALFORMED = [
    "ftp://hooks.example.com/x",
    "hooks.example.com/x",
    "http:///x",
    "http://user:secret@hooks.example.com/x",
    "http://hooks.example.com@127.0.0.1/x",
    "http://hooks.example.com/x\r\nX-Injected: 1",
    "http://hooks.example.com/\r\nX-Injected: 1",
    "http://hooks.example.com/a b",
    "http://hooks.example.com/\tx",
    "http://hooks.example.com/\x00",
    "http://hooks.example.com/\u200bx",  # zero-width space
    " http://hooks.example.com/x",
    "http://1.2.3.4.5/",
    "http://%31%32%37.0.0.1/",
    "http://0177.0.0.1/",  # httpx refuses what inet_aton reads as 127.0.0.1
    "http://[::1/",
    "https://hooks.example.com/" + "a" * 2048,
]
REFUSED = [
    ("http://127.0.0.1:5432/", "loopback"),
    ("http://127.0.0.1:6379/", "loopback"),
    ("http://localhost:8000/_admin/reset", "loopback"),
    ("http://LOCALHOST./x", "loopback"),
    ("http://api.localhost/x", "loopback"),
    ("http://169.254.169.254/latest/meta-data/iam/", "link-local"),
    ("http://metadata.google.internal/computeMetadata/v1/", "link-local"),
    ("http://[::1]/x", "loopback"),
    ("http://[::ffff:127.0.0.1]/x", "loopback"),
    ("http://0/x", "unspecified"),
    ("http://2130706433/x", "loopback"),
    ("http://0x7f000001/x", "loopback"),
    ("http://127.1/x", "loopback"),
    ("http://10.0.0.5/x", "private"),
    ("http://192.168.1.1/x", "private"),
    ("https://[fd00::1]/x", "unique-local"),
    ("https://[fe80::1%25eth0]/x", "link-local"),
    ("http://224.0.0.1/x", "multicast"),
    ("http://redis:6379/x", "internal network"),
    ("http://db.internal/x", "internal network"),
    ("http://printer.local/x", "internal network"),
]


@pytest.mark.parametrize("url", MALFORMED)
def test_a_malformed_url_is_refused_as_bad_input(url: str) -> None:
    with pytest.raises(InvalidInput, match="url"):
        PUBLIC_ONLY.check_url(url)


@pytest.mark.parametrize(("url", "reason"), REFUSED)
def test_a_url_inside_the_network_is_refused_with_the_reason(url: str, reason: str) -> None:
    with pytest.raises(Unprocessable, match=reason):
        PUBLIC_ONLY.check_url(url)


@pytest.mark.parametrize(
    "url",
    ["https://hooks.example.com/x?a=1#f", "http://93.184.215.14:8080/", "https://[2606:4700::1]/"],
)
def test_public_destinations_are_accepted(url: str) -> None:
    assert PUBLIC_ONLY.check_url(url) == url


def test_allowed_networks_open_only_themselves() -> None:
    assert LOCAL.check_url("http://127.0.0.1:9000/hook")
    with pytest.raises(Unprocessable, match="loopback"):
        LOCAL.check_url("http://127.0.0.2/")
    with pytest.raises(Unprocessable, match="loopback"):  # localhost is also ::1
        LOCAL.check_url("http://localhost/")
    with pytest.raises(Unprocessable, match="link-local"):
        LOCAL.check_url("http://metadata.google.internal/")
    # With a network allowed, an internal name is judged by its addresses at each call.
    assert LOCAL.check_url("http://receiver/hook")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as the_receiver:
        yield the_receiver


class Names:
    """A resolver that answers from a table, and counts its lookups."""

    def __init__(self, *answers: Sequence[str]) -> None:
        self.answers = [[ip_address(a) for a in answer] for answer in answers]
        self.lookups: list[str] = []

    async def __call__(self, host: str, _port: int) -> list[IPAddress]:
        self.lookups.append(host)
        if not self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.answers.pop(0)


async def post(
    url: str,
    policy: OutboundPolicy,
    resolve: Resolve | None = None,
    *,
    timeout_s: float = 2.0,
    read_bytes: int = 4096,
) -> Answer:
    client = OutboundClient(policy, timeout_s=timeout_s, resolve=resolve or Names())
    try:
        return await client.request("POST", url, content=b"{}", read_bytes=read_bytes)
    finally:
        await client.aclose()


async def test_a_refused_destination_is_never_contacted(receiver: Receiver) -> None:
    with pytest.raises(DestinationRefused, match="loopback"):
        await post(receiver.url, PUBLIC_ONLY)
    assert receiver.attempts == 0


async def test_a_name_with_one_refused_address_is_refused_dns_rebinding(
    receiver: Receiver,
) -> None:
    port = receiver.url.split(":")[2].split("/")[0]
    names = Names(["93.184.215.14", "127.0.0.1"])
    with pytest.raises(
        DestinationRefused, match=r"hooks.example.com \(127\.0\.0\.1\) is a loopback"
    ):
        await post(f"http://hooks.example.com:{port}/hook", PUBLIC_ONLY, names)
    names = Names(["169.254.169.254"])
    with pytest.raises(DestinationRefused, match="link-local"):
        await post("http://rebound.example.com/", LOCAL, names)
    assert receiver.attempts == 0


async def test_the_request_goes_to_the_checked_address_the_name_kept_in_host(
    receiver: Receiver,
) -> None:
    """One lookup per call, and the connection made to the address it checked: the name
    itself ("hooks.test", unknown to the system resolver) never reaches the connection."""
    port = receiver.url.split(":")[2].split("/")[0]
    names = Names(["127.0.0.1"], ["127.0.0.2"])
    answer = await post(f"http://hooks.test:{port}/hook", LOCAL, names)
    assert answer.status == 200
    assert names.lookups == ["hooks.test"]
    [delivery] = receiver.received
    assert delivery.headers["Host"] == f"hooks.test:{port}"
    with pytest.raises(DestinationRefused, match=r"127\.0\.0\.2"):  # the next call looks again
        await post(f"http://hooks.test:{port}/hook", LOCAL, names)


async def test_a_name_that_does_not_resolve_is_unreachable_not_refused() -> None:
    with pytest.raises(Unreachable, match="does not resolve"):
        await post("http://gone.example.com/", PUBLIC_ONLY, Names())


async def test_redirects_are_not_followed(receiver: Receiver) -> None:
    receiver.redirect_to = "http://169.254.169.254/latest/meta-data/"
    answer = await post(receiver.url, LOCAL)
    assert answer.status == 302
    assert receiver.attempts == 1


async def test_proxy_settings_of_the_environment_are_not_used(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    answer = await post(receiver.url, LOCAL)
    assert answer.status == 200 and len(receiver.received) == 1


async def test_a_huge_answer_is_read_only_up_to_the_cap(receiver: Receiver) -> None:
    receiver.answer_bytes = 256 * MIB
    answer = await post(receiver.url, LOCAL, read_bytes=4096)
    assert answer.status == 200
    assert answer.head == b"x" * 4096
    assert answer.bytes_read <= 4096 + 65_536  # one read past the cap, at most
    await _settled(receiver)
    assert receiver.sent_bytes < 32 * MIB  # the rest was never read: the connection closed


async def test_no_answer_within_the_timeout_is_unreachable(receiver: Receiver) -> None:
    receiver.hang_s = 2.0
    started = time.monotonic()
    with pytest.raises(Unreachable, match=r"no answer within 0\.3 s|ReadTimeout"):
        await post(receiver.url, LOCAL, timeout_s=0.3)
    assert time.monotonic() - started < 1.5


async def _settled(receiver: Receiver) -> None:
    """Until the receiver has stopped sending (its socket refused the rest)."""
    last = -1
    while receiver.sent_bytes != last:
        last = receiver.sent_bytes
        await asyncio.sleep(0.2)
