"""Timestamps as the API shows them: ISO 8601 text, or null for no moment."""

from __future__ import annotations

from datetime import datetime


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
