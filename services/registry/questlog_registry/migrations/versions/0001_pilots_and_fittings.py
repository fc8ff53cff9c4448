"""Pilots and the weapons fitted to their ships.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "pilots",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("name_key", sa.String(64), nullable=False),
        sa.Column("alliance", sa.String(64), nullable=False),
        sa.Column("ship", sa.String(64), nullable=False),
        sa.Column("ship_cost", sa.Integer(), nullable=False),
        sa.Column("player", sa.String(128), nullable=False),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("enrolled_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("name_key", name="uq_pilots_name_key"),
    )
    op.create_index("ix_pilots_enrolled_at", "pilots", ["enrolled_at"])
    op.create_table(
        "fittings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("pilot_id", sa.Integer(), sa.ForeignKey("pilots.id"), nullable=False),
        sa.Column("missile_launchers", sa.Integer(), nullable=False),
        sa.Column("cannons", sa.Integer(), nullable=False),
        sa.Column("missiles", sa.Integer(), nullable=False),
        sa.Column("torpedoes", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("fitted_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_fittings_pilot_id", "fittings", ["pilot_id"])


def downgrade() -> None:
    op.drop_table("fittings")
    op.drop_table("pilots")
