"""Initial schema: registry, programs, signals, messages, presence, meters and readings.

Revision ID: 0001
Revises: -
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('customers',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customers'))
    )
    op.create_table('groups',
    sa.Column('address', sa.String(length=160), nullable=False),
    sa.Column('domain', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('address', name=op.f('pk_groups'))
    )
    op.create_index(op.f('ix_groups_domain'), 'groups', ['domain'])
    op.create_table('programs',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('sender', sa.String(length=160), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_programs'))
    )
    op.create_table('areas',
    sa.Column('domain', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('group_address', sa.String(length=160), nullable=False),
    sa.ForeignKeyConstraint(['group_address'], ['groups.address'], name=op.f('fk_areas_group_address_groups')),
    sa.PrimaryKeyConstraint('domain', 'id', name=op.f('pk_areas')),
    sa.UniqueConstraint('group_address', name=op.f('uq_areas_group_address'))
    )
    op.create_table('endpoints',
    sa.Column('address', sa.String(length=160), nullable=False),
    sa.Column('domain', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_endpoints_customer_id_customers')),
    sa.PrimaryKeyConstraint('address', name=op.f('pk_endpoints'))
    )
    op.create_index(op.f('ix_endpoints_customer_id'), 'endpoints', ['customer_id'])
    op.create_index(op.f('ix_endpoints_domain'), 'endpoints', ['domain'])
    op.create_table('signals',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('program', sa.String(length=64), nullable=False),
    sa.Column('signal_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=128), nullable=False),
    sa.Column('sender', sa.String(length=160), nullable=False),
    sa.Column('recipient', sa.String(length=160), nullable=False),
    sa.Column('area', sa.String(length=64), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('envelope', sa.Text(), nullable=False),
    sa.Column('state', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['program'], ['programs.name'], name=op.f('fk_signals_program_programs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signals')),
    sa.UniqueConstraint('program', 'signal_id', name=op.f('uq_signals_program_signal_id'))
    )
    op.create_index(op.f('ix_signals_recipient'), 'signals', ['recipient'])
    op.create_index(op.f('ix_signals_signal_id'), 'signals', ['signal_id'])
    op.create_index(op.f('ix_signals_status_sent_at'), 'signals', ['status', 'sent_at'])
    op.create_table('group_members',
    sa.Column('group_address', sa.String(length=160), nullable=False),
    sa.Column('endpoint_address', sa.String(length=160), nullable=False),
    sa.ForeignKeyConstraint(
        ['endpoint_address'], ['endpoints.address'], name=op.f('fk_group_members_endpoint_address_endpoints')
    ),
    sa.ForeignKeyConstraint(['group_address'], ['groups.address'], name=op.f('fk_group_members_group_address_groups')),
    sa.PrimaryKeyConstraint('group_address', 'endpoint_address', name=op.f('pk_group_members'))
    )
    op.create_index(op.f('ix_group_members_endpoint_address'), 'group_members', ['endpoint_address'])
    op.create_table('messages',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('signal', sa.Integer(), nullable=True),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('message_id', sa.String(length=64), nullable=True),
    sa.Column('program', sa.String(length=64), nullable=True),
    sa.Column('signal_id', sa.String(length=64), nullable=True),
    sa.Column('kind', sa.String(length=128), nullable=False),
    sa.Column('sender', sa.String(length=160), nullable=False),
    sa.Column('recipient', sa.String(length=160), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=1024), nullable=True),
    sa.Column('field', sa.String(length=256), nullable=True),
    sa.Column('envelope', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['signal'], ['signals.id'], name=op.f('fk_messages_signal_signals'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_messages'))
    )
    op.create_index(op.f('ix_messages_kind_at'), 'messages', ['kind', 'at'])
    op.create_index(op.f('ix_messages_message_id'), 'messages', ['message_id'])
    op.create_index(op.f('ix_messages_recipient_at'), 'messages', ['recipient', 'at'])
    op.create_index(op.f('ix_messages_sender_at'), 'messages', ['sender', 'at'])
    op.create_index(op.f('ix_messages_signal_seq'), 'messages', ['signal', 'seq'])
    op.create_table('meters',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('meter_id', sa.String(length=64), nullable=False),
    sa.Column('endpoint', sa.String(length=160), nullable=True),
    sa.ForeignKeyConstraint(['endpoint'], ['endpoints.address'], name=op.f('fk_meters_endpoint_endpoints')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meters')),
    sa.UniqueConstraint('meter_id', name=op.f('uq_meters_meter_id'))
    )
    op.create_index(op.f('ix_meters_endpoint'), 'meters', ['endpoint'])
    op.create_table('presence',
    sa.Column('address', sa.String(length=160), nullable=False),
    sa.Column('online', sa.Boolean(), nullable=False),
    sa.Column('since', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['address'], ['endpoints.address'], name=op.f('fk_presence_address_endpoints')),
    sa.PrimaryKeyConstraint('address', name=op.f('pk_presence'))
    )
    op.create_table('readings',
    sa.Column('meter', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('power_w', sa.Double(), nullable=False),
    sa.Column('import_wh', sa.Double(), nullable=False),
    sa.Column('export_wh', sa.Double(), nullable=False),
    sa.ForeignKeyConstraint(['meter'], ['meters.id'], name=op.f('fk_readings_meter_meters')),
    sa.PrimaryKeyConstraint('meter', 'at', name=op.f('pk_readings')),
    sqlite_with_rowid=False
    )


def downgrade() -> None:
    """Undo this revision."""
    op.drop_table('readings')
    op.drop_table('presence')
    op.drop_index(op.f('ix_meters_endpoint'), table_name='meters')
    op.drop_table('meters')
    op.drop_index(op.f('ix_messages_signal_seq'), table_name='messages')
    op.drop_index(op.f('ix_messages_sender_at'), table_name='messages')
    op.drop_index(op.f('ix_messages_recipient_at'), table_name='messages')
    op.drop_index(op.f('ix_messages_message_id'), table_name='messages')
    op.drop_index(op.f('ix_messages_kind_at'), table_name='messages')
    op.drop_table('messages')
    op.drop_index(op.f('ix_group_members_endpoint_address'), table_name='group_members')
    op.drop_table('group_members')
    op.drop_index(op.f('ix_signals_status_sent_at'), table_name='signals')
    op.drop_index(op.f('ix_signals_signal_id'), table_name='signals')
    op.drop_index(op.f('ix_signals_recipient'), table_name='signals')
    op.drop_table('signals')
    op.drop_index(op.f('ix_endpoints_domain'), table_name='endpoints')
    op.drop_index(op.f('ix_endpoints_customer_id'), table_name='endpoints')
    op.drop_table('endpoints')
    op.drop_table('areas')
    op.drop_table('programs')
    op.drop_index(op.f('ix_groups_domain'), table_name='groups')
    op.drop_table('groups')
    op.drop_table('customers')
