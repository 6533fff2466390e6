"""customers.grants_expire_at: when an ended subscription grant expires

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 13:17:40.281212
"""

import sqlalchemy as sa
from alembic import op

from system.db.types import UtcDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("grants_expire_at", UtcDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("grants_expire_at")
