"""Shared state for the acceptance steps: what the last steps did and saw."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def ctx() -> dict[str, Any]:
    return {"responses": []}
