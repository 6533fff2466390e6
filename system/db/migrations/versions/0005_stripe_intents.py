"""stripe_intents: money-moving Stripe calls, written before they are made

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 13:35:00
"""

import sqlalchemy as sa
from alembic import op

from system.db.types import UtcDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stripe_intents",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(40), nullable=False),
        sa.Column("operation", sa.String(30), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("request", sa.Text(), nullable=False),
        sa.Column("stripe_id", sa.String(255), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("settled_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name="fk_stripe_intents_customer_id_customers",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_stripe_intents"),
        sa.UniqueConstraint(
            "customer_id", "operation", "subject", "attempt", name="uq_stripe_intents_attempt"
        ),
    )
    op.create_index("ix_stripe_intents_status_created", "stripe_intents", ["status", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_stripe_intents_status_created", table_name="stripe_intents")
    op.drop_table("stripe_intents")
