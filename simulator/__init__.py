"""Simulators used to run the billing system offline (the Stripe emulator lives here)."""
