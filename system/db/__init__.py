"""Persistence: the schema, the engine, migrations."""
