"""tokens that expire: `tokens.expires_ms`, null for a token that lives until revoked

Revision ID: 0014_token_expiry
Revises: 0013_connection_resources
Create Date: 2026-12-06

A token minted with an expiry (the web view's sign-in mints one for each session) is refused
from then on and deleted by the housekeeping that prunes the other retentions. Tokens made
before keep no expiry. `ix_tokens_expires_ms` serves that deletion's scan.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_token_expiry"
down_revision = "0013_connection_resources"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tokens") as batch:
        batch.add_column(sa.Column("expires_ms", sa.BigInteger(), nullable=True))
    op.create_index(op.f("ix_tokens_expires_ms"), "tokens", ["expires_ms"])


def downgrade() -> None:
    op.drop_index(op.f("ix_tokens_expires_ms"), table_name="tokens")
    with op.batch_alter_table("tokens") as batch:
        batch.drop_column("expires_ms")
