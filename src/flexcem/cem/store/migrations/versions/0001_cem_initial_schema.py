"""CEM store, initial schema: devices, jobs, prices, descriptions, conditions, dispatch, plans, events, journal,
readings, meta, records.

Revision ID: 0001
Revises: -
Create Date: 2026-11-30 21:39:13.375302
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "cem_active_events",
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("state", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_cem_active_events")),
    )
    op.create_table(
        "cem_conditions",
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_cem_conditions")),
    )
    op.create_table(
        "cem_descriptions",
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("body_type", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_cem_descriptions")),
    )
    op.create_table(
        "cem_devices",
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=160), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=True),
        sa.Column("capabilities", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=True),
        sa.Column("status_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_cem_devices")),
    )
    op.create_table(
        "cem_dispatch",
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("slot", sa.String(length=48), nullable=False),
        sa.Column("body_type", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("device_id", "slot", name=op.f("pk_cem_dispatch")),
    )
    op.create_table(
        "cem_jobs",
        sa.Column("offer_id", sa.String(length=64), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("phase", sa.String(length=16), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("offer_id", name=op.f("pk_cem_jobs")),
    )
    with op.batch_alter_table("cem_jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cem_jobs_device_id"), ["device_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cem_jobs_phase"), ["phase"], unique=False)

    op.create_table(
        "cem_journal",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cem_journal")),
    )
    with op.batch_alter_table("cem_journal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cem_journal_at"), ["at"], unique=False)

    op.create_table(
        "cem_meta",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_cem_meta")),
    )
    op.create_table(
        "cem_plans",
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("plan_no", sa.Integer(), nullable=False),
        sa.Column("adopted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("plan", sa.Text(), nullable=False),
        sa.Column("proposal_id", sa.String(length=64), nullable=True),
        sa.Column("committed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("role", name=op.f("pk_cem_plans")),
    )
    op.create_table(
        "cem_prices",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("applies_to", sa.String(length=16), nullable=False),
        sa.Column("profile_id", sa.String(length=64), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("profile", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_cem_prices")),
    )
    op.create_table(
        "cem_records",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_cem_records")),
    )
    op.create_table(
        "cem_readings",
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("power_w", sa.Double(), nullable=False),
        sa.Column("energy_wh", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("device_id", "at", name=op.f("pk_cem_readings")),
    )


def downgrade() -> None:
    """Undo this revision."""
    op.drop_table("cem_readings")
    op.drop_table("cem_records")
    op.drop_table("cem_prices")
    op.drop_table("cem_plans")
    op.drop_table("cem_meta")
    with op.batch_alter_table("cem_journal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cem_journal_at"))

    op.drop_table("cem_journal")
    with op.batch_alter_table("cem_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cem_jobs_phase"))
        batch_op.drop_index(batch_op.f("ix_cem_jobs_device_id"))

    op.drop_table("cem_jobs")
    op.drop_table("cem_dispatch")
    op.drop_table("cem_devices")
    op.drop_table("cem_descriptions")
    op.drop_table("cem_conditions")
    op.drop_table("cem_active_events")
