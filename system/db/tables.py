"""The schema, as SQLAlchemy Core tables. Migrations under `migrations/` create it."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
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
