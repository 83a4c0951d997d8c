"""the controllable clock and the shared control plane (fault rules, request log)

Revision ID: 0005_clock
Revises: 0004_hotpath
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_clock"
down_revision = "0004_hotpath"
branch_labels = None
depends_on = None

Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "clock",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("now_ms", sa.BigInteger(), nullable=False),
        sa.Column("anchor_ms", sa.BigInteger(), nullable=False),
        sa.Column("frozen", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clock")),
    )
    op.create_table(
        "control_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("faults_stamp", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_control_state")),
    )
    op.create_table(
        "fault_rules",
        sa.Column("seq", Seq, nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("rule", sa.JSON(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("draws", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_fault_rules")),
        sa.UniqueConstraint("id", name=op.f("uq_fault_rules_id")),
    )
    op.create_table(
        "request_log",
        sa.Column("seq", Seq, nullable=False),
        sa.Column("time_ms", sa.BigInteger(), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=False),
        sa.Column("token_id", sa.String(length=64), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("body_size", sa.BigInteger(), nullable=False),
        sa.Column("error", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_request_log")),
    )


def downgrade() -> None:
    op.drop_table("request_log")
    op.drop_table("fault_rules")
    op.drop_table("control_state")
    op.drop_table("clock")
