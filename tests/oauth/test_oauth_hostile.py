"""Hostile input on the OAuth routes: every field of the token form, of the location-token
form and every query parameter of the authorize step and of installed locations gets each
hostile value; no answer is a 5xx, and none stores anything a database cannot hold."""

from __future__ import annotations

from urllib.parse import urlencode

import httpx
import pytest

from tests.oauth.conftest import (
    AGENCY_APP,
    CLINIC,
    COMPANY,
    LOCATION_APP,
    bearer,
    load_document,
    login,
)

pytestmark = pytest.mark.anyio
HOSTILE = (
    "",
    "\x00",
    "a\x00b",
    "x" * 5000,
    "../../etc/passwd",
    "%00",
    "é" * 300,
    "\udcff",  # what a lone surrogate becomes once sent: see RAW_FORMS
    "-1",
    "9" * 40,
    "null",
    "<script>",
    " ",
)
TOKEN_FIELDS = ("client_id", "client_secret", "grant_type", "code", "refresh_token", "user_type")


RAW_FORMS = (b"client_id=%ED%A0%80&client_secret=\xff\xfe", b"\xff" * 100, b"=&=&&", b"%")


def form(values: dict[str, str]) -> bytes:
    return urlencode(values, errors="surrogatepass").encode()


async def test_no_hostile_value_is_a_server_error(admin_client: httpx.AsyncClient) -> None:
    await load_document(admin_client)
    company = await login(admin_client, AGENCY_APP)
    valid = {
        "client_id": LOCATION_APP["clientId"],
        "client_secret": LOCATION_APP["clientSecret"],
        "grant_type": "refresh_token",
        "refresh_token": "x" * 43,
        "code": "y",
        "user_type": "Location",
    }
    statuses: set[int] = set()
    for value in HOSTILE:
        for field in TOKEN_FIELDS:
            answer = await admin_client.post(
                "/oauth/token",
                content=form({**valid, field: value}),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            statuses.add(answer.status_code)
            assert answer.status_code < 500, (field, value, answer.text)
        for field in ("client_id", "redirect_uri", "scope", "state", "locationId", "companyId"):
            query = {"client_id": LOCATION_APP["clientId"], field: value}
            if "\udcff" in value:
                continue  # a URL cannot carry it
            answer = await admin_client.get("/oauth/chooselocation", params=query)
            statuses.add(answer.status_code)
            assert answer.status_code < 500, (field, value, answer.text)
        for field in ("companyId", "locationId"):
            body = {"companyId": COMPANY, "locationId": CLINIC, field: value}
            answer = await admin_client.post(
                "/oauth/locationToken",
                content=form(body),
                headers={
                    **bearer(company["access_token"]),
                    "Content-Type": "application/x-www-form-urlencoded",
                },
            )
            statuses.add(answer.status_code)
            assert answer.status_code < 500, (field, value, answer.text)
        for field in ("companyId", "appId", "query", "skip", "limit", "isInstalled"):
            params = {"companyId": COMPANY, "appId": "agencyApp01", field: value}
            if "\udcff" in value:
                continue  # a URL cannot carry it
            answer = await admin_client.get(
                "/oauth/installedLocations", params=params, headers=bearer(company["access_token"])
            )
            statuses.add(answer.status_code)
            assert answer.status_code < 500, (field, value, answer.text)
    for raw in RAW_FORMS:
        answer = await admin_client.post(
            "/oauth/token",
            content=raw,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert answer.status_code == 400, (raw, answer.text)
    assert statuses == {200, 302, 400, 401, 403, 404}, statuses
