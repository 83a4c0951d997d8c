"""`/ui/`: the web week view (a static page and its script, `api/web_ui/`), off with
`SLOTBLOCK_WEB_UI=false`.

The page talks to the public API only, with the location token the person types (kept in
the tab's session storage, sent as `Authorization`), so no cookie and no CSRF surface. It is
served with a strict Content-Security-Policy: scripts, styles and connections from this
origin only, nothing framed, no forms posted anywhere. The one exception is a nonce, fresh
for every page, that lets the vendored calendar component (FullCalendar 6) inject its own
stylesheet; the nonce is in the page and nowhere else.
"""

from __future__ import annotations

import secrets
from functools import cache
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse, RedirectResponse

ASSETS_DIR = Path(__file__).resolve().parent.parent / "web_ui"
ASSETS = "/ui/assets"
NONCE_MARK = "{{nonce}}"


def content_security_policy(nonce: str) -> str:
    """Same-origin scripts, styles, fetches and images; the nonce for the injected sheet."""
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            f"style-src 'self' 'nonce-{nonce}'",
            "connect-src 'self'",
            "img-src 'self' data:",
            "font-src 'self' data:",  # FullCalendar's arrow icons
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        )
    )


@cache
def page_template() -> str:
    return (ASSETS_DIR / "index.html").read_text(encoding="utf-8")


def page() -> HTMLResponse:
    """The page with a fresh nonce, and the policy that names it."""
    nonce = secrets.token_urlsafe(18)
    return HTMLResponse(
        page_template().replace(NONCE_MARK, nonce),
        headers={"Content-Security-Policy": content_security_policy(nonce)},
    )


def install(app: FastAPI, enabled: bool) -> None:
    """Serve `/ui/` (`/ui` redirects to it) and its assets, unless the setting turned it off."""
    if not enabled:
        return
    app.mount(ASSETS, StaticFiles(directory=ASSETS_DIR), name="web-ui-assets")
    app.add_api_route("/ui/", page, methods=["GET"], include_in_schema=False)
    app.add_api_route("/ui", to_slash, methods=["GET"], include_in_schema=False)


def to_slash() -> RedirectResponse:
    """`/ui` -> `/ui/` by a relative Location (never built from the Host header), so that
    the page's relative asset paths resolve, behind a path prefix too."""
    return RedirectResponse("ui/", status_code=308)
