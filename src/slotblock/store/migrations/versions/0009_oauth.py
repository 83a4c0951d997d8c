"""oauth: companies owning locations, marketplace apps, their installations and grants

Revision ID: 0009_oauth
Revises: 0008_outbox_retention
Create Date: 2026-12-05

Codes, access and refresh tokens and client secrets are stored by SHA-256 only, as the
private-integration tokens are.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_oauth"
down_revision = "0008_outbox_retention"
branch_labels = None
depends_on = None

Id = sa.String(length=64)


def upgrade() -> None:
    op.create_table(
        "companies",
        sa.Column("id", Id, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_companies")),
    )
    op.create_table(
        "company_locations",
        sa.Column("location_id", Id, nullable=False),
        sa.Column("company_id", Id, nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_company_locations_company_id_companies"),
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
            name=op.f("fk_company_locations_location_id_locations"),
        ),
        sa.PrimaryKeyConstraint("location_id", name=op.f("pk_company_locations")),
    )
    op.create_index(op.f("ix_company_locations_company_id"), "company_locations", ["company_id"])
    op.create_table(
        "oauth_apps",
        sa.Column("id", Id, nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("redirect_uris", sa.JSON(), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("distribution", sa.String(length=16), nullable=False),
        sa.Column("company_id", Id, nullable=True),
        sa.Column("location_id", Id, nullable=True),
        sa.Column("user_id", Id, nullable=True),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_apps")),
        sa.UniqueConstraint("client_id", name=op.f("uq_oauth_apps_client_id")),
    )
    op.create_table(
        "oauth_installs",
        sa.Column("app_id", Id, nullable=False),
        sa.Column("target_id", Id, nullable=False),
        sa.Column("user_type", sa.String(length=16), nullable=False),
        sa.Column("company_id", Id, nullable=False),
        sa.Column("installed_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("app_id", "target_id", name=op.f("pk_oauth_installs")),
    )
    op.create_table(
        "oauth_grants",
        sa.Column("id", Id, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("app_id", Id, nullable=False),
        sa.Column("target_id", Id, nullable=False),
        sa.Column("user_type", sa.String(length=16), nullable=False),
        sa.Column("company_id", Id, nullable=False),
        sa.Column("location_id", Id, nullable=True),
        sa.Column("user_id", Id, nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("redirect_uri", sa.Text(), nullable=True),
        sa.Column("expires_ms", sa.BigInteger(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_grants")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_oauth_grants_token_hash")),
    )
    op.create_index(
        op.f("ix_oauth_grants_app_id_target_id_kind_created_ms"),
        "oauth_grants",
        ["app_id", "target_id", "kind", "created_ms"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_oauth_grants_app_id_target_id_kind_created_ms"), table_name="oauth_grants"
    )
    op.drop_table("oauth_grants")
    op.drop_table("oauth_installs")
    op.drop_table("oauth_apps")
    op.drop_index(op.f("ix_company_locations_company_id"), table_name="company_locations")
    op.drop_table("company_locations")
    op.drop_table("companies")
