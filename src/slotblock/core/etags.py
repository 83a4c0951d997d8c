"""PURE: entity tags of blocks and the conditional headers (RFC 9110 §8.8.3, §13.1).

A block's tag is its stored version, which every write bumps: strong, since two answers
with one version are byte-for-byte the same. An instance of a series carries its series'
tag: its answer shows the series' rule (EXDATEs included) and dateUpdated, so it changes
whenever its series or its own override changes.
"""

from __future__ import annotations

from slotblock.core.errors import PreconditionFailed
from slotblock.core.model import Block

STALE = "the block was changed since the If-Match version; read it again"


def etag(block: Block) -> str:
    return f'"{block.version}"'


def _tags(header: str) -> list[str]:
    return [part.strip() for part in header.split(",") if part.strip()]


def if_match(header: str | None, block: Block) -> bool:
    """True when an If-Match header lets a write of `block` go ahead (strong comparison:
    a weak tag never matches; `*` matches any stored block)."""
    if header is None:
        return True
    tags = _tags(header)
    return "*" in tags or etag(block) in tags


def check_if_match(header: str | None, block: Block) -> None:
    if not if_match(header, block):
        raise PreconditionFailed(STALE)


def if_none_match(header: str | None, tag: str) -> bool:
    """True when an If-None-Match header names `tag` (weak comparison), or is `*`."""
    if header is None:
        return False
    tags = [t.removeprefix("W/") for t in _tags(header)]
    return "*" in tags or tag in tags
