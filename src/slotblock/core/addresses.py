"""PURE: which network destinations an outbound call may reach.

slotblock calls out to URLs its tenants give (webhook receivers; later, calendar feeds).
Such a URL must not reach inside the operator's network: loopback, private, link-local,
unique-local, multicast, unspecified and reserved addresses are refused unless the operator
allows their network (`SLOTBLOCK_OUTBOUND_ALLOW_NETWORKS`). This module classifies; the
policy and the client that applies it at every call are `service/outbound.py`.

A URL host is read as the system resolver reads it: `inet_aton` takes `127.1`, `0x7f000001`,
`2130706433`, `0177.0.0.1` and `0` for IPv4 addresses, so `host_address` does too (the
WHATWG URL standard's IPv4 parser, which agrees with it). An IPv6 address that carries an
IPv4 one (`::ffff:127.0.0.1`, NAT64 `64:ff9b::/96`, 6to4) is judged by the IPv4 address.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from urllib.parse import unquote

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

_SHARED = IPv4Network("100.64.0.0/10")  # RFC 6598, carrier-grade NAT
_PRIVATE_V4 = tuple(IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
_UNIQUE_LOCAL = IPv6Network("fc00::/7")  # RFC 4193
_NAT64 = IPv6Network("64:ff9b::/96")  # RFC 6052, the well-known prefix
_METADATA = (IPv4Address("169.254.169.254"), IPv6Address("fd00:ec2::254"))
_LOOPBACK = (IPv4Address("127.0.0.1"), IPv6Address("::1"))

# Names that stand for an address whatever DNS says (/etc/hosts, the cloud's own resolver).
_DENOTED: dict[str, tuple[IPAddress, ...]] = {
    "localhost": _LOOPBACK,
    "localhost.localdomain": _LOOPBACK,
    "ip6-localhost": _LOOPBACK[1:],
    "ip6-loopback": _LOOPBACK[1:],
    "metadata": _METADATA,
    "metadata.google.internal": _METADATA,
    "metadata.goog": _METADATA,
    "instance-data": _METADATA,
    "instance-data.ec2.internal": _METADATA,
}
# Names that only resolve inside a network (RFC 6761, RFC 6762, RFC 8375, ICANN's .internal).
_INTERNAL_SUFFIXES = (".localhost", ".local", ".localdomain", ".internal", ".home.arpa")


def parse_networks(text: str) -> tuple[IPNetwork, ...]:
    """`"127.0.0.0/8, ::1"` → the networks (a bare address is its own /32 or /128);
    ValueError naming the first that is not a network."""
    networks = []
    for part in text.split(","):
        if part.strip():
            try:
                networks.append(ipaddress.ip_network(part.strip(), strict=False))
            except ValueError as exc:
                raise ValueError(f"{part.strip()!r} is not a network (CIDR)") from exc
    return tuple(networks)


def host_address(host: str) -> IPAddress | None:
    """The address a URL's host spells, in any spelling the system resolver takes; None for
    a name. ValueError for a host that is neither (`1.2.3.4.5`, `09.1.1.1`, `foo.123`)."""
    host = host.lower().removesuffix(".")
    if ":" in host:
        return ipaddress.ip_address(unquote(host).strip("[]"))
    parts = host.split(".")
    if not _ENDS_IN_NUMBER.fullmatch(parts[-1]):
        return None  # a name (a host ending in a number is read as an address)
    numbers = [_ipv4_number(part) for part in parts]
    if len(parts) > 4 or None in numbers:
        raise ValueError(f"{host!r} is neither a host name nor an IPv4 address")
    return _ipv4([n for n in numbers if n is not None], host)


_ENDS_IN_NUMBER = re.compile(r"[0-9]+|0x[0-9a-f]*")


def _ipv4_number(part: str) -> int | None:
    """One dotted part as inet_aton reads it (0x… hexadecimal, 0… octal), or None."""
    if re.fullmatch(r"0x[0-9a-f]*", part):
        return int(part[2:] or "0", 16)
    if re.fullmatch(r"0[0-7]+", part):
        return int(part, 8)
    if re.fullmatch(r"0|[1-9][0-9]*", part):
        return int(part)
    return None


def _ipv4(numbers: list[int], host: str) -> IPv4Address:
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (4 - len(head)):
        raise ValueError(f"{host!r} is not an IPv4 address (a part is out of range)")
    value = last
    for index, number in enumerate(head):
        value += number << (8 * (3 - index))
    return IPv4Address(value)


def refusal(address: IPAddress, allowed: Iterable[IPNetwork] = ()) -> str | None:
    """Why `address` may not be called ("loopback", "private", …); None when it may: a
    globally routable address, or one inside a network the operator allows."""
    allowed = tuple(allowed)
    if any(address in network for network in allowed):
        return None
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return refusal(embedded, allowed)
    return _kind(address)


def _embedded_ipv4(address: IPAddress) -> IPv4Address | None:
    if isinstance(address, IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def _kind(address: IPAddress) -> str | None:
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if isinstance(address, IPv6Address) and address in _UNIQUE_LOCAL:
        return "unique-local"
    if isinstance(address, IPv6Address) and address.is_site_local:
        return "site-local"
    if isinstance(address, IPv4Address) and any(address in n for n in (*_PRIVATE_V4, _SHARED)):
        return "private"
    if address.is_reserved or address.is_private or not address.is_global:
        return "reserved"
    return None


def denoted_addresses(name: str) -> tuple[IPAddress, ...]:
    """The addresses a special name stands for (`localhost`, cloud metadata names), or ()."""
    name = name.lower().removesuffix(".")
    if name.endswith(".localhost"):
        return _LOOPBACK
    return _DENOTED.get(name, ())


def is_internal_name(name: str) -> bool:
    """A name that only resolves inside a network: one label (a search-domain lookup, a
    container's service name) or a suffix reserved for local use."""
    name = name.lower().removesuffix(".")
    return "." not in name or name.endswith(_INTERNAL_SUFFIXES)
