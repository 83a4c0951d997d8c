"""The schema. `location_id` is the distribution key: every table's primary key leads with
it except ten. `locations` is keyed by the location itself; `tokens`, `feed_tokens` and
`admin_tokens` by their own id, since a request's token is looked up by its hash before its
location is known (and admin tokens have none); `outbox` by a global sequence, which orders
the deliveries;
`server_secrets` by the secret's name (the server's own keys, one per use, no location);
the control plane's `clock`, `control_state`, `fault_rules` (ids unique database-wide) and
`request_log` hold the state of the whole database (for tests; empty in production). Four
indexes serve scans across every location: the dispatcher's due deliveries,
`outbox (state, next_attempt_ms)`, the connection syncers' due connections,
`calendar_connections (next_sync_ms)`, and the retentions' pruning, `block_changes (changed_ms)`
and `outbox (state, finished_ms)`; the tokens' and feed tokens' unique hashes are looked up
across locations too; every other index leads with `location_id` (`tests/store/test_store.py`
holds this list).

Blocks keep both their own times and the bounds that candidate selection uses:

* `start_ms`/`end_ms`: the block, or the first occurrence of a series (DTSTART).
* `long_span`: false for a one-off block of at most SHORT_SPAN_MS; such a block overlaps
  a window [a, b) only if a - SHORT_SPAN_MS < start_ms < b, a bounded index range.
* `bound_start_ms`/`bound_end_ms`: for long blocks and every series, the earliest start and
  latest end of anything the row can produce (moved instances included; an endless series
  has bound_end_ms = isotime.MAX_MS), selected through an index on bound_end_ms.
* `version`: bumped by every write, so that a read-modify-write of a series (its
  overrides and EXDATEs) is an optimistic compare-and-set on any backend.
"""

from __future__ import annotations

import sqlalchemy as sa

SHORT_SPAN_MS = 86_400_000

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Id = sa.String(64)
Ms = sa.BigInteger

locations = sa.Table(
    "locations",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("timezone", sa.String(64), nullable=False),
    sa.Column("created_ms", Ms, nullable=False),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("location_id", Id, sa.ForeignKey("locations.id"), primary_key=True),
    sa.Column("id", Id, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("email", sa.Text, nullable=False),
    sa.Column("created_ms", Ms, nullable=False),
)

groups = sa.Table(
    "groups",
    metadata,
    sa.Column("location_id", Id, sa.ForeignKey("locations.id"), primary_key=True),
    sa.Column("id", Id, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("slug", sa.Text, nullable=False),
    sa.Column("is_active", sa.Boolean, nullable=False),
    sa.Column("created_ms", Ms, nullable=False),
    sa.Column("updated_ms", Ms, nullable=False),
)

calendars = sa.Table(
    "calendars",
    metadata,
    sa.Column("location_id", Id, sa.ForeignKey("locations.id"), primary_key=True),
    sa.Column("id", Id, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("group_id", Id, nullable=True),
    sa.Column("is_active", sa.Boolean, nullable=False),
    sa.Column("calendar_type", sa.String(32), nullable=False),
    sa.Column("slug", sa.Text, nullable=False),
    sa.Column("extra", sa.JSON, nullable=False),
    sa.Column("created_ms", Ms, nullable=False),
    sa.Column("updated_ms", Ms, nullable=False),
    sa.ForeignKeyConstraint(["location_id", "group_id"], ["groups.location_id", "groups.id"]),
    sa.Index(None, "location_id", "group_id"),
)

calendar_members = sa.Table(
    "calendar_members",
    metadata,
    sa.Column("location_id", Id, primary_key=True),
    sa.Column("calendar_id", Id, primary_key=True),
    sa.Column("user_id", Id, primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("extra", sa.JSON, nullable=False),
    sa.ForeignKeyConstraint(
        ["location_id", "calendar_id"],
        ["calendars.location_id", "calendars.id"],
        ondelete="CASCADE",
    ),
    sa.ForeignKeyConstraint(["location_id", "user_id"], ["users.location_id", "users.id"]),
    sa.Index(None, "location_id", "user_id"),
)

blocks = sa.Table(
    "blocks",
    metadata,
    sa.Column("location_id", Id, sa.ForeignKey("locations.id"), primary_key=True),
    sa.Column("id", Id, primary_key=True),
    sa.Column("calendar_id", Id, nullable=True),
    sa.Column("assigned_user_id", Id, nullable=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("notes", sa.Text, nullable=False),
    sa.Column("address", sa.Text, nullable=False),
    sa.Column("start_ms", Ms, nullable=False),
    sa.Column("end_ms", Ms, nullable=False),
    sa.Column("long_span", sa.Boolean, nullable=False),
    sa.Column("bound_start_ms", Ms, nullable=False),
    sa.Column("bound_end_ms", Ms, nullable=False),
    sa.Column("timezone", sa.String(64), nullable=False),
    sa.Column("rrule", sa.Text, nullable=True),
    sa.Column("last_start_ms", Ms, nullable=True),
    sa.Column("overrides", sa.JSON, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_ms", Ms, nullable=False),
    sa.Column("updated_ms", Ms, nullable=False),
    # Set on blocks synced from a connected calendar (read-only through the API).
    sa.Column("connection_id", Id, nullable=True),
    sa.Column("source", sa.String(32), nullable=True),
    sa.ForeignKeyConstraint(
        ["location_id", "calendar_id"], ["calendars.location_id", "calendars.id"]
    ),
    sa.ForeignKeyConstraint(["location_id", "assigned_user_id"], ["users.location_id", "users.id"]),
    sa.Index(
        "ix_blocks_calendar_start",
        "location_id",
        "calendar_id",
        "long_span",
        "start_ms",
    ),
    sa.Index(
        "ix_blocks_calendar_bound",
        "location_id",
        "calendar_id",
        "long_span",
        "bound_end_ms",
    ),
    sa.Index(
        "ix_blocks_user_start",
        "location_id",
        "assigned_user_id",
        "long_span",
        "start_ms",
    ),
    sa.Index(
        "ix_blocks_user_bound",
        "location_id",
        "assigned_user_id",
        "long_span",
        "bound_end_ms",
    ),
    sa.Index(None, "location_id", "connection_id"),
)

tokens = sa.Table(
    "tokens",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("location_id", Id, sa.ForeignKey("locations.id"), nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("scopes", sa.Text, nullable=False),
    sa.Column("created_ms", Ms, nullable=False),
    sa.Column("revoked_ms", Ms, nullable=True),
    sa.Column("expires_ms", Ms, nullable=True),  # refused from then on, then deleted; null: never
    sa.Index(None, "location_id"),
    sa.Index(None, "expires_ms"),
)

# The secret addresses of iCalendar feeds (`GET /calendars/ical/{feedToken}.ics`), stored by
# hash only: each publishes the blocked time of one calendar, user or group and grants
# nothing else. `target_kind` is calendar, user or group. Revoked feeds keep their row.
feed_tokens = sa.Table(
    "feed_tokens",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("location_id", Id, sa.ForeignKey("locations.id"), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("target_kind", sa.String(16), nullable=False),
    sa.Column("target_id", Id, nullable=False),
    sa.Column("busy_only", sa.Boolean, nullable=False),
    sa.Column("include_connected", sa.Boolean, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("created_ms", Ms, nullable=False),
    sa.Column("revoked_ms", Ms, nullable=True),
    sa.Index(None, "location_id"),
)

# Tokens of the admin API (/_admin/), not bound to a location; stored by hash only.
admin_tokens = sa.Table(
    "admin_tokens",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_ms", Ms, nullable=False),
)

# --- changes flowing out: sync tokens, webhooks, idempotent creates ------------------------

# The last change number handed out per location. A writer increments it in its own
# transaction, so it holds the row lock until it commits: numbers of one location commit in
# the order they were taken, and every committed number is below any later reader's value.
# `floor_seq`: sync tokens from before it are gone (an admin reset moves it); the counters
# outlive resets, so that change numbers never go back.
change_counters = sa.Table(
    "change_counters",
    metadata,
    sa.Column("location_id", Id, primary_key=True),
    sa.Column("seq", Ms, nullable=False),
    sa.Column("floor_seq", Ms, nullable=False, server_default="0"),
)

# One row per committed block write; kept for the tombstone retention. `prev_*` is the owner
# before the write, so that a block moved away from a filter's target shows as deleted there.
block_changes = sa.Table(
    "block_changes",
    metadata,
    sa.Column("location_id", Id, primary_key=True),
    sa.Column("seq", Ms, primary_key=True, autoincrement=False),
    sa.Column("block_id", Id, nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False),
    sa.Column("calendar_id", Id, nullable=True),
    sa.Column("assigned_user_id", Id, nullable=True),
    sa.Column("prev_calendar_id", Id, nullable=True),
    sa.Column("prev_assigned_user_id", Id, nullable=True),
    sa.Column("changed_ms", Ms, nullable=False),
    # The group of the block's calendar after and before the change (as the group filter
    # selects blocks); NULL on rows written before 0005 (the feed then falls back on the
    # calendars' groups of now).
    sa.Column("group_id", Id, nullable=True),
    sa.Column("prev_group_id", Id, nullable=True),
    sa.Index(None, "location_id", "block_id"),
    sa.Index(None, "changed_ms"),
)

webhooks = sa.Table(
    "webhooks",
    metadata,
    sa.Column("location_id", Id, sa.ForeignKey("locations.id"), primary_key=True),
    sa.Column("id", Id, primary_key=True),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("events", sa.JSON, nullable=False),
    sa.Column("created_ms", Ms, nullable=False),
)

# Webhook deliveries, written in the transaction of the change (one row per subscription).
# state: pending → delivered | dead. A dispatcher claims a pending row by moving
# next_attempt_ms past its lease, so that a crashed dispatcher's rows come back by themselves.
# `event` is a versioned payload (service/webhook_events.py), not a copy of the block;
# finished rows are deleted after their retention (service/workers/webhook_dispatcher.py).
outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("location_id", Id, nullable=False),
    sa.Column("webhook_id", Id, nullable=False),
    sa.Column("block_id", Id, nullable=False),
    sa.Column("event_type", sa.String(32), nullable=False),
    sa.Column("event", sa.JSON, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_ms", Ms, nullable=False),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("created_ms", Ms, nullable=False),
    sa.Column("finished_ms", Ms, nullable=True),
    # set when a finished delivery is sent again: its retry horizon counts from then
    sa.Column("redelivered_ms", Ms, nullable=True),
    sa.Index(None, "state", "next_attempt_ms"),
    sa.Index(None, "location_id", "webhook_id", "block_id", "state"),
    sa.Index(None, "state", "finished_ms"),  # the retention's oldest finished rows
)

# The last attempts of each delivery (webhook_attempts_kept of them): when, how long, the
# receiver's status or the error, the signature sent. Deleted with their outbox row.
webhook_attempts = sa.Table(
    "webhook_attempts",
    metadata,
    sa.Column("location_id", Id, primary_key=True),
    sa.Column("delivery_id", sa.BigInteger, primary_key=True),
    sa.Column("attempt", sa.Integer, primary_key=True),  # 1, 2, … (the outbox's attempts)
    sa.Column("at_ms", Ms, nullable=False),
    sa.Column("duration_ms", sa.Integer, nullable=False),
    sa.Column("status", sa.Integer, nullable=True),  # the receiver's answer; None: no answer
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("signature", sa.String(128), nullable=True),
)

# The first answer of a create made with an Idempotency-Key, per token.
idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("location_id", Id, primary_key=True),
    sa.Column("token_id", Id, primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("body", sa.JSON, nullable=False),
    sa.Column("created_ms", Ms, nullable=False),
)

# A location's data version, bumped by a PostgreSQL trigger in every transaction that writes
# its blocks, calendars, groups or users: answer caches of every node are validated by it.
# (SQLite answers `PRAGMA data_version` instead; the table stays empty there.)
data_versions = sa.Table(
    "data_versions",
    metadata,
    sa.Column("location_id", Id, primary_key=True),
    sa.Column("version", Ms, nullable=False),
)

# --- the integrator's control plane, shared by every worker and node ---------------------
# (Emptied by an admin reset with everything else: real time, no fault rule, no log.)

# The clock a test set (core/clock.py): at most one row (id 1); none is real time.
clock = sa.Table(
    "clock",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("now_ms", Ms, nullable=False),
    sa.Column("anchor_ms", Ms, nullable=False),
    sa.Column("frozen", sa.Boolean, nullable=False),
)

# At most one row (id 1): `faults_stamp` changes with every added or removed fault rule, so
# that a process re-reads the rules only when they changed (a new random value each time:
# after a reset deleted the row, no stamp a process remembers can come back).
control_state = sa.Table(
    "control_state",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("faults_stamp", sa.String(32), nullable=True),
)

# Fault rules in the order they were added (`seq`); `hits` and `draws` (probability draws
# taken) are counted here, by one conditional UPDATE each, so that `times` holds across
# processes and a seeded sequence is the same as one process would draw.
fault_rules = sa.Table(
    "fault_rules",
    metadata,
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("id", Id, nullable=False, unique=True),
    sa.Column("rule", sa.JSON, nullable=False),
    sa.Column("hits", sa.Integer, nullable=False),
    sa.Column("draws", sa.Integer, nullable=False),
)

# The last requests answered while the admin API is on, newest last (`seq`); bounded by
# SLOTBLOCK_REQUEST_LOG_SIZE (older rows are deleted as new ones come).
request_log = sa.Table(
    "request_log",
    metadata,
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("time_ms", Ms, nullable=False),
    sa.Column("method", sa.String(16), nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("query", sa.Text, nullable=False),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("duration_ms", sa.Float, nullable=False),
    sa.Column("request_id", sa.String(128), nullable=False),
    sa.Column("token_id", Id, nullable=True),
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Column("body_size", sa.BigInteger, nullable=False),
    sa.Column("error", sa.JSON, nullable=True),
)

# A user's connected calendar (service/connections.py). `secret` is sealed (Fernet, with
# SLOTBLOCK_CONNECTION_KEY) and never read back out by any answer or export; so is
# `address`, the calendar's URL (sealed when the key is set; core/connection_address.py),
# where `url` holds only what may be shown of it (`https://host/…`). A syncer
# claims a due connection by setting `claimed_until_ms` (on PostgreSQL under
# `FOR UPDATE SKIP LOCKED`), and a sync's end clears it: one connection is synced by one
# node at a time.
calendar_connections = sa.Table(
    "calendar_connections",
    metadata,
    sa.Column("location_id", Id, sa.ForeignKey("locations.id"), primary_key=True),
    sa.Column("id", Id, primary_key=True),
    sa.Column("user_id", Id, nullable=False),
    sa.Column("url", sa.Text, nullable=False),  # redacted: scheme://host[:port]/…
    sa.Column("address", sa.Text, nullable=True),  # the URL, sealed
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("busy_only", sa.Boolean, nullable=False),
    sa.Column("username", sa.Text, nullable=True),
    sa.Column("secret", sa.Text, nullable=True),
    sa.Column("created_ms", Ms, nullable=False),
    sa.Column("next_sync_ms", Ms, nullable=False),
    sa.Column("claimed_until_ms", Ms, nullable=True),  # a syncer's lease
    sa.Column("last_success_ms", Ms, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("last_error_ms", Ms, nullable=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("event_count", sa.Integer, nullable=False),
    sa.Column("warnings", sa.JSON, nullable=False),
    sa.Column("etag", sa.Text, nullable=True),
    sa.Column("last_modified", sa.Text, nullable=True),
    sa.Column("sync_token", sa.Text, nullable=True),
    sa.ForeignKeyConstraint(["location_id", "user_id"], ["users.location_id", "users.id"]),
    sa.Index(None, "next_sync_ms"),  # the syncers' due connections, across locations
    sa.Index(None, "location_id", "user_id"),
)

# The resources of a CalDAV connection's collection as its last sync left them (one row per
# href: its ETag, the blocks it gave by UID, its events and warnings), so that the next sync
# reads only the resources the sync token says changed (core/connection_resources.py).
connection_resources = sa.Table(
    "connection_resources",
    metadata,
    sa.Column("location_id", Id, primary_key=True),
    sa.Column("connection_id", Id, primary_key=True),
    sa.Column("href", sa.Text, primary_key=True),
    sa.Column("etag", sa.Text, nullable=True),
    sa.Column("uids", sa.JSON, nullable=False),  # {UID: [block id, ...]}
    sa.Column("events", sa.Integer, nullable=False),
    sa.Column("warnings", sa.JSON, nullable=False),
    sa.ForeignKeyConstraint(
        ["location_id", "connection_id"],
        ["calendar_connections.location_id", "calendar_connections.id"],
        name="fk_connection_resources_connection",  # the convention's name is too long
    ),
)

# Keys the server makes for itself (hex), one row per use, shared by every node: the key of
# the changes feed's sync tokens when SLOTBLOCK_SYNC_TOKEN_KEY is unset. A reset keeps them.
server_secrets = sa.Table(
    "server_secrets",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(128), nullable=False),
)

# --- OAuth, as marketplace apps use it (service/oauth.py) ---------------------------------

# Companies (agencies) and the locations they own: a location belongs to at most one.
companies = sa.Table(
    "companies",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("created_ms", Ms, nullable=False),
)

company_locations = sa.Table(
    "company_locations",
    metadata,
    sa.Column("location_id", Id, sa.ForeignKey("locations.id"), primary_key=True),
    sa.Column("company_id", Id, sa.ForeignKey("companies.id"), nullable=False),
    sa.Index(None, "company_id"),
)

# Marketplace apps: `id` is the app id (the client id up to its first "-"); the client
# secret is stored by hash only. `location_id`/`company_id`: whom the authorize step
# installs the app for when the request names no one.
oauth_apps = sa.Table(
    "oauth_apps",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("client_id", sa.String(128), nullable=False, unique=True),
    sa.Column("secret_hash", sa.String(64), nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("redirect_uris", sa.JSON, nullable=False),
    sa.Column("scopes", sa.Text, nullable=False),
    sa.Column("distribution", sa.String(16), nullable=False),
    sa.Column("company_id", Id, nullable=True),
    sa.Column("location_id", Id, nullable=True),
    sa.Column("user_id", Id, nullable=True),
    sa.Column("created_ms", Ms, nullable=False),
)

# Where an app is installed: a location, or a company (`user_type` says which).
oauth_installs = sa.Table(
    "oauth_installs",
    metadata,
    sa.Column("app_id", Id, primary_key=True),
    sa.Column("target_id", Id, primary_key=True),
    sa.Column("user_type", sa.String(16), nullable=False),
    sa.Column("company_id", Id, nullable=False),
    sa.Column("installed_ms", Ms, nullable=False),
)

# Authorization codes, access and refresh tokens (`kind`), by hash only. A used code or
# refresh token is deleted (refresh tokens rotate); expired rows are deleted when the same
# installation gets new ones, and at most SLOTBLOCK_OAUTH_LIVE_TOKENS of each kind live per
# installation. `location_id` is null for a company's tokens.
oauth_grants = sa.Table(
    "oauth_grants",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("app_id", Id, nullable=False),
    sa.Column("target_id", Id, nullable=False),
    sa.Column("user_type", sa.String(16), nullable=False),
    sa.Column("company_id", Id, nullable=False),
    sa.Column("location_id", Id, nullable=True),
    sa.Column("user_id", Id, nullable=False),
    sa.Column("scopes", sa.Text, nullable=False),
    sa.Column("redirect_uri", sa.Text, nullable=True),
    sa.Column("expires_ms", Ms, nullable=False),
    sa.Column("created_ms", Ms, nullable=False),
    sa.Index(None, "app_id", "target_id", "kind", "created_ms"),
)
