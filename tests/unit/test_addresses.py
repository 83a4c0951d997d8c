"""Which destinations an outbound call may reach (core/addresses.py): every spelling of an
inside address the system resolver accepts, and the names that stand for one."""

from __future__ import annotations

import socket
from ipaddress import IPv4Address, ip_address, ip_network

import pytest

from slotblock.core.addresses import (
    denoted_addresses,
    host_address,
    is_internal_name,
    parse_networks,
    refusal,
)

REFUSED = [
    ("0", "unspecified"),
    ("0.0.0.0", "unspecified"),
    ("2130706433", "loopback"),
    ("0x7f000001", "loopback"),
    ("0X7F000001", "loopback"),
    ("127.1", "loopback"),
    ("127.0.1", "loopback"),
    ("0177.0.0.1", "loopback"),
    ("127.0.0.1.", "loopback"),
    ("127.255.255.254", "loopback"),
    ("::1", "loopback"),
    ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
    ("::ffff:7f00:1", "loopback"),
    ("64:ff9b::7f00:1", "loopback"),  # NAT64
    ("2002:7f00:1::", "loopback"),  # 6to4
    ("10.0.0.1", "private"),
    ("172.16.5.4", "private"),
    ("192.168.1.1", "private"),
    ("100.64.0.1", "private"),  # carrier-grade NAT
    ("::ffff:10.0.0.1", "private"),
    ("169.254.169.254", "link-local"),
    ("0xa9fea9fe", "link-local"),
    ("fe80::1", "link-local"),
    ("fe80::1%25eth0", "link-local"),
    ("fc00::1", "unique-local"),
    ("fd12:3456::1", "unique-local"),
    ("fec0::1", "site-local"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("ff02::1", "multicast"),
    ("::", "unspecified"),
    ("255.255.255.255", "reserved"),
    ("240.0.0.1", "reserved"),
    ("192.0.2.1", "reserved"),  # documentation
    ("198.18.0.1", "reserved"),  # benchmarking
    ("::127.0.0.1", "reserved"),  # IPv4-compatible (deprecated)
    ("2001:db8::1", "reserved"),
]


@pytest.mark.parametrize(("host", "kind"), REFUSED)
def test_every_spelling_of_an_inside_address_is_refused(host: str, kind: str) -> None:
    address = host_address(host)
    assert address is not None
    assert refusal(address) == kind


@pytest.mark.parametrize(
    "host", ["2130706433", "0x7f000001", "127.1", "0177.0.0.1", "0", "10.1", "0xa9fea9fe"]
)
def test_ipv4_spellings_read_as_the_system_resolver_reads_them(host: str) -> None:
    assert host_address(host) == ip_address(socket.inet_aton(host))


@pytest.mark.parametrize(
    "host", ["8.8.8.8", "93.184.215.14", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]
)
def test_public_addresses_pass(host: str) -> None:
    address = host_address(host)
    assert address is not None and refusal(address) is None


def test_an_allowed_network_lets_its_addresses_through_and_only_those() -> None:
    allowed = parse_networks("127.0.0.0/8, ::1")
    assert refusal(IPv4Address("127.0.0.1"), allowed) is None
    assert refusal(ip_address("::1"), allowed) is None
    assert refusal(ip_address("::ffff:127.0.0.1"), allowed) is None  # the IPv4 address decides
    assert refusal(IPv4Address("10.0.0.1"), allowed) == "private"
    assert refusal(IPv4Address("169.254.169.254"), allowed) == "link-local"


@pytest.mark.parametrize(
    "host", ["1.2.3.4.5", "256.1.1.1", "1.1.1.08", "foo.123", "1..1", "0x1g.1"]
)
def test_a_host_that_ends_in_a_number_but_is_no_address_is_an_error(host: str) -> None:
    with pytest.raises(ValueError, match="IPv4 address"):
        host_address(host)


@pytest.mark.parametrize("host", ["example.com", "hooks.example.org.", "a-b.example", "x.y1"])
def test_names_are_names(host: str) -> None:
    assert host_address(host) is None


def test_names_that_stand_for_an_inside_address() -> None:
    assert IPv4Address("127.0.0.1") in denoted_addresses("localhost")
    assert IPv4Address("127.0.0.1") in denoted_addresses("api.LOCALHOST.")
    assert IPv4Address("169.254.169.254") in denoted_addresses("metadata.google.internal")
    assert denoted_addresses("example.com") == ()
    for name in ("redis", "postgres", "db.internal", "printer.local", "nas.home.arpa"):
        assert is_internal_name(name), name
    assert not is_internal_name("hooks.example.com")


def test_networks_setting_parses_or_names_the_bad_part() -> None:
    assert parse_networks("") == ()
    assert parse_networks(" 10.0.0.0/8 ,, fd00::/8 ") == (
        ip_network("10.0.0.0/8"),
        ip_network("fd00::/8"),
    )
    with pytest.raises(ValueError, match=r"'10\.0\.0\.0/33' is not a network"):
        parse_networks("127.0.0.0/8,10.0.0.0/33")
