"""docker-compose.yml (no Docker engine here): its services, commands and environment agree
with the command line's flags and the system's settings."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import yaml

from simulator.staging.runner import START
from system.cli import parser
from system.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _argv(service: dict[str, Any]) -> list[str]:
    """The rsolv-billing arguments of a service's command (through `sh -c` if need be)."""
    command = service["command"]
    if command[:2] == ["sh", "-c"]:
        words = shlex.split(command[2])
        words = [w for w in words if "=" not in w or w.startswith("-")]
        command = words[words.index("exec") + 1 :]
    assert command[0] == "rsolv-billing", command
    return [w.replace("$$", "$") for w in command[1:]]


def test_the_stack_has_every_service() -> None:
    services = _compose()["services"]
    assert set(services) >= {
        "postgres",
        "migrate",
        "emulator",
        "test-clock",
        "system",
        "stripe-worker",
        "stripe-listen",
        "simulate",
    }
    assert _argv(services["migrate"]) == ["migrate"]
    assert services["system"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully"
    )


def test_commands_parse_with_the_cli() -> None:
    services = _compose()["services"]
    for name in ("migrate", "emulator", "system", "stripe-worker", "simulate"):
        args = parser().parse_args(_argv(services[name]))
        assert args.command == _argv(services[name])[0]
    simulate = parser().parse_args(_argv(services["simulate"]))
    assert simulate.system_url == "http://system:8000"
    assert simulate.stripe_api_base == "http://emulator:12111"
    assert simulate.report == Path("/reports")
    system = parser().parse_args(_argv(services["system"]))
    assert (system.port, system.workers, system.no_migrate) == (8000, 2, True)


def test_environment_is_settings_and_shared() -> None:
    services = _compose()["services"]
    fields = {name.upper() for name in Settings.model_fields}
    for name in ("migrate", "system", "stripe-worker", "simulate"):
        env = services[name]["environment"]
        assert set(env) <= fields, set(env) - fields
    # the system leaves Stripe customers to the worker, which shares its database and clock
    assert services["system"]["environment"]["STRIPE_SYNC_MODE"] == "worker"
    worker = services["stripe-worker"]
    assert (
        worker["environment"]["DATABASE_URL"] == services["system"]["environment"]["DATABASE_URL"]
    )
    assert "STRIPE_TEST_CLOCK=$$(cat /clock/test_clock)" in worker["command"][2]
    system, simulate = services["system"]["environment"], services["simulate"]["environment"]
    assert system["STRIPE_API_KEY"] == simulate["STRIPE_API_KEY"]
    assert system["SIMULATED_CLOCK_FILE"] == simulate["SIMULATED_CLOCK_FILE"]
    assert system["DATABASE_URL"].startswith("postgresql://")
    assert "STRIPE_TEST_CLOCK=$$(cat /clock/test_clock)" in services["system"]["command"][2]
    assert "STRIPE_TEST_CLOCK=$$(cat /clock/test_clock)" in services["simulate"]["command"][2]
    # the test clock starts where the simulator's weeks start
    assert f"'frozen_time': {int(START.timestamp())}" in services["test-clock"]["command"][2]
    listen = services["stripe-listen"]["command"]
    assert listen[0] == "listen" and "http://system:8000/webhooks/stripe" in listen


def test_dockerfile_installs_the_command() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install ." in dockerfile and "rsolv-billing" in dockerfile
    assert ".venv" in (ROOT / ".dockerignore").read_text()
