"""dashboard, admin and marketplace: email outbox, magic links, admin audit log, GitHub
deliveries, marketplace accounts

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

from system.db.types import UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "email_outbox",
        sa.Column("id", AUTO_ID, autoincrement=True, nullable=False),
        sa.Column("to_address", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_outbox")),
    )
    op.create_index(
        op.f("ix_email_outbox_to_address"), "email_outbox", ["to_address"], unique=False
    )
    op.create_table(
        "magic_links",
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("used_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_magic_links_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_magic_links")),
    )
    op.create_index(
        op.f("ix_magic_links_customer_id"), "magic_links", ["customer_id"], unique=False
    )
    op.create_table(
        "admin_audit_log",
        sa.Column("id", AUTO_ID, autoincrement=True, nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_admin_audit_log_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_audit_log")),
    )
    op.create_index(
        op.f("ix_admin_audit_log_customer_id"), "admin_audit_log", ["customer_id"], unique=False
    )
    op.create_table(
        "github_deliveries",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("event", sa.String(length=60), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=True),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_github_deliveries")),
    )
    op.create_table(
        "marketplace_accounts",
        sa.Column("github_account_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("login", sa.String(length=100), nullable=False),
        sa.Column("account_type", sa.String(length=20), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("marketplace_plan_id", sa.BigInteger(), nullable=False),
        sa.Column("marketplace_plan_name", sa.String(length=200), nullable=False),
        sa.Column("plan", sa.String(length=20), nullable=False),
        sa.Column("on_free_trial", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("free_trial_ends_on", UtcDateTime(), nullable=True),
        sa.Column("next_billing_date", UtcDateTime(), nullable=True),
        sa.Column("pending_plan_name", sa.String(length=200), nullable=True),
        sa.Column("pending_effective_date", UtcDateTime(), nullable=True),
        sa.Column("cancelled_at", UtcDateTime(), nullable=True),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_marketplace_accounts_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("github_account_id", name=op.f("pk_marketplace_accounts")),
        sa.UniqueConstraint("customer_id", name=op.f("uq_marketplace_accounts_customer_id")),
    )


def downgrade() -> None:
    op.drop_table("marketplace_accounts")
    op.drop_table("github_deliveries")
    op.drop_index(op.f("ix_admin_audit_log_customer_id"), table_name="admin_audit_log")
    op.drop_table("admin_audit_log")
    op.drop_index(op.f("ix_magic_links_customer_id"), table_name="magic_links")
    op.drop_table("magic_links")
    op.drop_index(op.f("ix_email_outbox_to_address"), table_name="email_outbox")
    op.drop_table("email_outbox")
