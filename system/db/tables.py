"""The schema, as SQLAlchemy Core tables. Migrations under `migrations/` create it."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

from system.db.types import UtcDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

customers = Table(
    "customers",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("email", String(320), nullable=False),
    # Case-folded normalised address: the unique key that makes duplicates impossible.
    Column("email_key", String(320), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("company", String(200)),
    Column("github_org", String(100)),
    Column("plan", String(20), nullable=False, server_default="trial"),
    Column("status", String(20), nullable=False, server_default="active"),
    # Running total of the ledger, kept in the same transaction as each entry; a
    # conditional update on it is what stops concurrent consumers overdrawing.
    Column("credit_balance", Integer, nullable=False, server_default="0"),
    Column("stripe_customer_id", String(255), unique=True),
    Column("created_at", UtcDateTime(), nullable=False),
    # Dunning: when the customer's subscription went past due (None when in good standing).
    Column("past_due_since", UtcDateTime()),
    # Credits owed back after a refund of a credit that was already spent.
    Column("credit_debt", Integer, nullable=False, server_default="0"),
    # When an ended subscription's period grant stops being usable (None: nothing due).
    Column("grants_expire_at", UtcDateTime()),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("customer_id", String(40), ForeignKey("customers.id"), nullable=False, index=True),
    # The public part of the key (environment and lookup id), unique, used to find the row.
    Column("prefix", String(64), nullable=False, unique=True),
    Column("key_hash", LargeBinary(32), nullable=False),
    Column("label", String(100)),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("last_used_at", UtcDateTime()),
    Column("revoked_at", UtcDateTime()),
)

credit_ledger = Table(
    "credit_ledger",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("customer_id", String(40), ForeignKey("customers.id"), nullable=False),
    Column("amount", Integer, nullable=False),
    Column("kind", String(40), nullable=False),
    # What caused the entry (e.g. "signup", a Stripe invoice id, a fix id): one entry per
    # (customer, reference), so a replayed cause never grants or consumes twice.
    Column("reference", String(255), nullable=False),
    Column("balance_after", Integer, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("customer_id", "reference", name="uq_credit_ledger_customer_reference"),
    Index("ix_credit_ledger_customer_id_id", "customer_id", "id"),
)

idempotent_requests = Table(
    "idempotent_requests",
    metadata,
    Column("scope", String(40), primary_key=True),
    # SHA-256 of the client's Idempotency-Key: the key itself is never stored.
    Column("key_hash", LargeBinary(32), primary_key=True),
    Column("request_hash", LargeBinary(32), nullable=False),
    Column("status_code", Integer, nullable=False),
    # The response, encrypted with a key derived from the Idempotency-Key, so that only a
    # client that presents the same key can read it back.
    Column("response", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

stripe_sync_queue = Table(
    "stripe_sync_queue",
    metadata,
    Column("customer_id", String(40), ForeignKey("customers.id"), primary_key=True),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text),
    Column("next_attempt_at", UtcDateTime(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)


payment_methods = Table(
    "payment_methods",
    metadata,
    Column("id", String(255), primary_key=True),  # Stripe's pm_ id
    Column("customer_id", String(40), ForeignKey("customers.id"), nullable=False, index=True),
    Column("brand", String(40)),
    Column("last4", String(4)),
    Column("exp_month", Integer),
    Column("exp_year", Integer),
    Column("is_default", Boolean, nullable=False, server_default=false()),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("detached_at", UtcDateTime()),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", String(255), primary_key=True),  # Stripe's sub_ id
    Column("customer_id", String(40), ForeignKey("customers.id"), nullable=False, index=True),
    Column("plan", String(20), nullable=False),
    Column("status", String(30), nullable=False),
    Column("current_period_start", UtcDateTime()),
    Column("current_period_end", UtcDateTime()),
    Column("cancel_at_period_end", Boolean, nullable=False, server_default=false()),
    Column("canceled_at", UtcDateTime()),
    Column("ended_at", UtcDateTime()),
    Column("updated_at", UtcDateTime(), nullable=False),
)

invoices = Table(
    "invoices",
    metadata,
    Column("id", String(255), primary_key=True),  # Stripe's in_ id
    Column("customer_id", String(40), ForeignKey("customers.id"), nullable=False),
    Column("subscription_id", String(255)),
    Column("number", String(100)),
    Column("status", String(30), nullable=False),
    Column("billing_reason", String(40)),
    Column("currency", String(3), nullable=False),
    Column("total", Integer, nullable=False),
    Column("amount_due", Integer, nullable=False),
    Column("amount_paid", Integer, nullable=False),
    Column("amount_remaining", Integer, nullable=False),
    Column("period_start", UtcDateTime()),
    Column("period_end", UtcDateTime()),
    Column("created", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ix_invoices_customer_id_created", "customer_id", "created"),
)

payments = Table(
    "payments",
    metadata,
    Column("id", String(255), primary_key=True),  # Stripe's pi_ id
    Column("customer_id", String(40), ForeignKey("customers.id"), nullable=False, index=True),
    Column("purpose", String(255), nullable=False),  # e.g. "fix:<fix_id>"
    Column("amount", Integer, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(30), nullable=False),
    Column("charge_id", String(255), unique=True),
    Column("amount_refunded", Integer, nullable=False, server_default="0"),
    Column("created_at", UtcDateTime(), nullable=False),
)

# Write before you call: every money-moving Stripe call is recorded here first, its id the
# call's idempotency key, and completed (or failed, or abandoned) after; the settlement pass
# asks Stripe about whatever a crash left pending.
stripe_intents = Table(
    "stripe_intents",
    metadata,
    Column("id", String(64), primary_key=True),  # also the Stripe idempotency key
    Column("customer_id", String(40), ForeignKey("customers.id"), nullable=False),
    Column("operation", String(30), nullable=False),  # fix_charge, subscribe
    Column("subject", String(255), nullable=False),  # the fix id, or "subscription"
    Column("attempt", Integer, nullable=False),
    Column("status", String(20), nullable=False),  # pending, succeeded, failed, abandoned
    Column("request", Text, nullable=False),  # JSON: what the call sends, to send it again
    Column("stripe_id", String(255)),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("settled_at", UtcDateTime()),
    UniqueConstraint(
        "customer_id", "operation", "subject", "attempt", name="uq_stripe_intents_attempt"
    ),
    Index("ix_stripe_intents_status_created", "status", "created_at"),
)

fixes = Table(
    "fixes",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("customer_id", String(40), ForeignKey("customers.id"), nullable=False),
    Column("fix_id", String(200), nullable=False),
    Column("repo", String(300), nullable=False),
    Column("pr_number", Integer, nullable=False),
    Column("action", String(30), nullable=False),  # consume_credit or charge
    Column("amount_cents", Integer, nullable=False, server_default="0"),
    Column("payment_id", String(255)),
    Column("balance_after", Integer, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("customer_id", "fix_id", name="uq_fixes_customer_fix"),
)

stripe_events = Table(
    "stripe_events",
    metadata,
    Column("id", String(255), primary_key=True),  # Stripe's evt_ id: each is applied once
    Column("type", String(100), nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
)


# -- dashboard, admin and GitHub Marketplace (migration 0003) --------------------------------

email_outbox = Table(
    "email_outbox",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("to_address", String(320), nullable=False, index=True),
    Column("subject", String(300), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

magic_links = Table(
    "magic_links",
    metadata,
    # SHA-256 of the link's token: the token itself only travels in the email.
    Column("token_hash", LargeBinary(32), primary_key=True),
    Column("customer_id", String(40), ForeignKey("customers.id"), nullable=False, index=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("used_at", UtcDateTime()),
)

admin_audit_log = Table(
    "admin_audit_log",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("actor", String(100), nullable=False),
    Column("action", String(40), nullable=False),
    Column("customer_id", String(40), ForeignKey("customers.id"), nullable=False, index=True),
    Column("amount", Integer),
    Column("reason", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

github_deliveries = Table(
    "github_deliveries",
    metadata,
    Column("id", String(100), primary_key=True),  # X-GitHub-Delivery: each is applied once
    Column("event", String(60), nullable=False),
    Column("action", String(60)),
    Column("received_at", UtcDateTime(), nullable=False),
)

marketplace_accounts = Table(
    "marketplace_accounts",
    metadata,
    Column("github_account_id", BigInteger, primary_key=True),
    Column("login", String(100), nullable=False),
    Column("account_type", String(20), nullable=False),
    Column("customer_id", String(40), ForeignKey("customers.id"), nullable=False, unique=True),
    Column("marketplace_plan_id", BigInteger, nullable=False),
    Column("marketplace_plan_name", String(200), nullable=False),
    Column("plan", String(20), nullable=False),  # ours: trial, payg or pro
    Column("on_free_trial", Boolean, nullable=False, server_default=false()),
    Column("free_trial_ends_on", UtcDateTime()),
    Column("next_billing_date", UtcDateTime()),
    Column("pending_plan_name", String(200)),
    Column("pending_effective_date", UtcDateTime()),
    Column("cancelled_at", UtcDateTime()),
    Column("updated_at", UtcDateTime(), nullable=False),
)
