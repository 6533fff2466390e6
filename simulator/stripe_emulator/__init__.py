"""Offline, stateful emulator of the Stripe API (test mode), driven by the official SDK.

``EmulatorServer`` runs it on a loopback port; ``create_app`` gives the ASGI app;
``EmulatorState`` is the live state (clock, accounts, faults, events).
"""

from .app import create_app
from .clock import Clock, ManualClock, SystemClock
from .errors import StripeError
from .server import EmulatorServer, serve
from .state import EmulatorState

__all__ = [
    "Clock",
    "EmulatorServer",
    "EmulatorState",
    "ManualClock",
    "StripeError",
    "SystemClock",
    "create_app",
    "serve",
]
