"""The standard headers of a JSON API on every answer: the browser must not sniff a type
(`X-Content-Type-Options: nosniff`) and nothing may keep a copy of an answer that carries
tenant data (`Cache-Control: no-store`). A header the route set itself is kept.

They are added by the outermost middleware (`observability.py`) in the same pass over an
answer's headers that stamps its request id: one layer less on every request, and its own
500 for a crash carries them too."""

from __future__ import annotations

HEADERS = {
    "x-content-type-options": "nosniff",
    "cache-control": "no-store",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}

RAW = tuple((name.encode(), value.encode()) for name, value in HEADERS.items())
