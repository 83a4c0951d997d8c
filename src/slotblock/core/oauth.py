"""OAuth 2.0 as the platform's marketplace apps use it. Pure: no I/O, time passed in.

The token endpoint takes a form in the platform's snake_case (`client_id`, `grant_type`,
`refresh_token`, …) or in the camelCase the official SDKs send (`clientId`, `grantType`,
`refreshToken`, …). Its errors carry the platform's body (`statusCode`, `message`) and the
OAuth 2.0 code (`error`: `invalid_request`, `invalid_client`, `invalid_grant`,
`unsupported_grant_type`) with its `error_description`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from slotblock.core.errors import Forbidden, InvalidInput, Unauthenticated
from slotblock.core.tokens import ALPHABET

COMPANY = "Company"
LOCATION = "Location"
USER_TYPES = (COMPANY, LOCATION)
AGENCY = "agency"
SUB_ACCOUNT = "location"
DISTRIBUTIONS = (AGENCY, SUB_ACCOUNT)

CODE, ACCESS, REFRESH = "code", "access", "refresh"
CODE_SECONDS = 600
REFRESH_SECONDS = 365 * 86_400
GRANTS = ("authorization_code", "refresh_token")
MAX_FORM_FIELDS = 32
MAX_SCOPES = 200

# The platform's answers to a token of the wrong kind, and to an expired or unknown one.
AUTH_CLASS = (
    "This authClass type is not allowed to access this scope. "
    "Please reach out to the Platform team to get it added."
)
INVALID_JWT = "Invalid JWT"
OAUTH_READ, OAUTH_WRITE = "oauth.readonly", "oauth.write"

_ALIASES = {
    "clientId": "client_id",
    "clientSecret": "client_secret",
    "grantType": "grant_type",
    "refreshToken": "refresh_token",
    "userType": "user_type",
    "redirectUri": "redirect_uri",
    "companyId": "company_id",
    "locationId": "location_id",
}


class OAuthRequestError(InvalidInput):
    """A token request the server refuses (400), with its OAuth 2.0 error code."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


class OAuthClientError(Unauthenticated):
    """Unknown client, or a client secret that is not the app's (401)."""

    code = "invalid_client"

    def __init__(self, description: str = "Invalid client: client is invalid") -> None:
        super().__init__(description)
        self.description = description


class WrongTenant(Forbidden):
    """A company token naming a company or location that is not its own."""


def new_secret() -> str:
    """A fresh code or token: 43 base62 characters (~256 bits), shown once."""
    return "".join(secrets.choice(ALPHABET) for _ in range(43))


def app_id_of(client_id: str) -> str:
    """The app id: the client id up to its first "-" (as the official SDKs read it)."""
    return client_id.split("-", 1)[0]


@dataclass(frozen=True)
class TokenRequest:
    grant_type: str
    client_id: str
    client_secret: str
    code: str | None
    refresh_token: str | None
    user_type: str | None
    redirect_uri: str | None


def parse_form(body: bytes) -> dict[str, str]:
    """The fields of a form body, camelCase names read as their snake_case twins; a field
    given twice keeps its first value. At most MAX_FORM_FIELDS fields."""
    try:
        pairs = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=False,
            max_num_fields=MAX_FORM_FIELDS,
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise OAuthRequestError("invalid_request", "Invalid request: the form is invalid") from exc
    fields: dict[str, str] = {}
    for name, value in pairs:
        if "\x00" in name or "\x00" in value:
            raise OAuthRequestError("invalid_request", "Invalid request: NUL in the form")
        fields.setdefault(_ALIASES.get(name, name), value)
    return fields


SECRET_FIELDS = frozenset({"client_secret", "code", "refresh_token"})


def redacted_form(body: bytes) -> bytes:
    """A form body with its secrets (client secret, code, refresh token, in either
    spelling) as `***`: what the request log may keep of an OAuth request."""
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    except (UnicodeDecodeError, ValueError):
        return b"***" if body else body
    kept = [(n, "***" if _ALIASES.get(n, n) in SECRET_FIELDS else v) for n, v in pairs]
    return urlencode(kept).encode()


def token_request(fields: dict[str, str]) -> TokenRequest:
    """The token request of a form; OAuthRequestError naming the first missing field."""
    for name in ("client_id", "client_secret", "grant_type"):
        if not fields.get(name):
            raise OAuthRequestError("invalid_request", f"Missing parameter: `{name}`")
    grant = fields["grant_type"]
    if grant not in GRANTS:
        raise OAuthRequestError(
            "unsupported_grant_type", "Unsupported grant type: `grant_type` is invalid"
        )
    needed = "code" if grant == "authorization_code" else "refresh_token"
    if not fields.get(needed):
        raise OAuthRequestError("invalid_request", f"Missing parameter: `{needed}`")
    user_type = fields.get("user_type") or None
    if user_type is not None and user_type not in USER_TYPES:
        raise OAuthRequestError(
            "invalid_request", "Invalid parameter: `user_type` must be Company or Location"
        )
    return TokenRequest(
        grant_type=grant,
        client_id=fields["client_id"],
        client_secret=fields["client_secret"],
        code=fields.get("code") or None,
        refresh_token=fields.get("refresh_token") or None,
        user_type=user_type,
        redirect_uri=fields.get("redirect_uri") or None,
    )


def granted_scopes(app_scopes: tuple[str, ...], requested: str | None) -> tuple[str, ...]:
    """The scopes an authorization grants: those requested that the app has (all the
    app's when none are requested), in the app's order."""
    if not requested or not requested.strip():
        return app_scopes
    asked = set(requested.split()[:MAX_SCOPES])
    return tuple(scope for scope in app_scopes if scope in asked)


def redirect_with(uri: str, **params: str) -> str:
    """`uri` with `params` added to its query (its own query and fragment kept)."""
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(name, value) for name, value in params.items() if value]
    return urlunsplit(parts._replace(query=urlencode(query)))


def redirect_uri_ok(uri: str) -> bool:
    """An absolute http(s) URI without a fragment, as OAuth 2.0 wants a redirect URI."""
    parts = urlsplit(uri)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and not parts.fragment


@dataclass(frozen=True)
class App:
    id: str
    client_id: str
    name: str
    redirect_uris: tuple[str, ...]
    scopes: tuple[str, ...]
    distribution: str
    company_id: str | None = None
    location_id: str | None = None
    user_id: str | None = None


@dataclass(frozen=True)
class Grant:
    """A code, access or refresh token (`kind`) of one installation of an app."""

    id: str
    kind: str
    app_id: str
    target_id: str  # the location or company the app is installed for
    user_type: str
    company_id: str
    location_id: str | None
    user_id: str
    scopes: tuple[str, ...]
    expires_ms: int
    redirect_uri: str | None = None


@dataclass(frozen=True)
class CompanyPrincipal:
    """Who calls an agency route: a company's access token of one app."""

    grant_id: str
    app_id: str
    company_id: str
    user_id: str
    scopes: frozenset[str]


@dataclass(frozen=True)
class Authorization:
    """An authorize request: the app, and whom to install it for (None: the app's own)."""

    client_id: str
    redirect_uri: str | None = None
    scope: str | None = None
    location_id: str | None = None
    company_id: str | None = None
    user_id: str | None = None


@dataclass(frozen=True)
class InstalledFilter:
    company_id: str
    app_id: str
    skip: int = 0
    limit: int = 20
    name_contains: str | None = None
    is_installed: bool | None = None
