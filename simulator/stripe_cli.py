"""Find and run the real Stripe CLI (npm ``@stripe/cli``, pinned in ``package.json``) offline.

``package.json`` pins ``@stripe/cli-linux-x64`` (the package ``@stripe/cli``
installs its Linux binary from) rather than the ``@stripe/cli`` wrapper: for
1.52.0 the wrapper's other platform packages are not published, so npm writes
a lock file that ``npm ci`` then rejects. :func:`find_binary` locates the
binary under ``node_modules/@stripe`` (platform package, or the wrapper's
vendored copy) or ``$STRIPE_CLI_BIN``. :class:`StripeCLI` runs it against
an emulator: ``--api-base http://127.0.0.1:PORT`` (the CLI refuses a
``localhost`` base for some commands), an ``sk_test_`` key of 12+ characters,
``STRIPE_CLI_TELEMETRY_OPTOUT=1``, ``--skip-update`` where the command takes
it, a private ``HOME``/``XDG_CONFIG_HOME`` (so nothing is written to the
user's home) and no proxy variables, so it never reaches the network.

Command line: ``python -m simulator.stripe_cli --api-base http://127.0.0.1:12111
trigger customer.created`` (everything after the options goes to the CLI).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_KEY = "sk_test_emulator_stripe_cli"
# Commands whose parser accepts --skip-update (others reject it as an unknown flag).
SKIP_UPDATE = {"listen"}
# Commands that take the hidden --api-base flag.
API_BASE = {"listen", "trigger", "fixtures", "get", "post", "delete", "logs", "events"}
_PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


class StripeCLIMissing(RuntimeError):
    """The CLI binary is not installed (run ``npm ci`` at the repository root)."""


def _platform_package() -> str:
    system = {"linux": "linux", "darwin": "darwin", "win32": "win32"}.get(
        sys.platform, sys.platform
    )
    machine = platform.machine().lower()
    arch = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(
        machine, machine
    )
    return f"cli-{system}-{arch}"


def find_binary(root: Path | None = None) -> Path | None:
    """The Stripe CLI binary npm installed (platform package or the wrapper's vendored copy)."""
    env = os.environ.get("STRIPE_CLI_BIN")
    if env:
        return Path(env) if Path(env).is_file() else None
    base = (root or ROOT) / "node_modules" / "@stripe"
    exe = "stripe.exe" if sys.platform == "win32" else "stripe"
    for candidate in (
        base / _platform_package() / "bin" / exe,
        base / "cli" / "vendor" / "bin" / exe,
    ):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def require_binary(root: Path | None = None) -> Path:
    found = find_binary(root)
    if found is None:
        raise StripeCLIMissing(
            "the Stripe CLI is not installed: run `npm ci` at the repository root "
            f"({(root or ROOT) / 'node_modules'} has no @stripe/{_platform_package()} binary)"
        )
    return found


def check_api_base(api_base: str) -> str:
    parts = urlsplit(api_base)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an API base URL: {api_base!r}")
    if parts.hostname == "localhost":
        raise ValueError("write the API base as http://127.0.0.1:PORT (the CLI refuses localhost)")
    return api_base.rstrip("/")


class StripeCLI:
    """Runs the real CLI against an emulator at ``api_base`` with ``api_key``."""

    def __init__(
        self,
        api_base: str,
        api_key: str = DEFAULT_KEY,
        *,
        binary: Path | None = None,
        home: str | None = None,
    ) -> None:
        if len(api_key) < 12:
            raise ValueError("the Stripe CLI wants an API key of at least 12 characters")
        self.api_base = check_api_base(api_base)
        self.api_key = api_key
        self.binary = binary or require_binary()
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if home is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="stripe-cli-home-")
            home = self._tmp.name
        self.home = home

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _PROXY_VARS}
        env.pop("STRIPE_API_KEY", None)
        env.pop("STRIPE_DEVICE_NAME", None)
        env.update(
            HOME=self.home,
            XDG_CONFIG_HOME=os.path.join(self.home, ".config"),
            STRIPE_CLI_TELEMETRY_OPTOUT="1",
            NO_PROXY="127.0.0.1,localhost",
            no_proxy="127.0.0.1,localhost",
        )
        return env

    def argv(self, *args: str) -> list[str]:
        """The full command line for ``stripe ARGS`` with base, key and update flags added."""
        command = args[0] if args else ""
        out = [str(self.binary), *args]
        if command in API_BASE:
            out += ["--api-base", self.api_base]
        if command in SKIP_UPDATE:
            out.append("--skip-update")
        out += ["--api-key", self.api_key, "--color", "off"]
        return out

    def run(
        self, *args: str, timeout: float = 60.0, check: bool = False
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.argv(*args),
            env=self.env(),
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=check,
            stdin=subprocess.DEVNULL,
        )

    def popen(self, *args: str, **kwargs: object) -> subprocess.Popen[str]:
        """Start a long-running command (``listen``).

        Its output goes to ``<home>/stdout.log`` and ``<home>/stderr.log`` unless
        ``stdout``/``stderr`` are given: the CLI blocks once an unread pipe fills
        (``stripe listen`` prints a line per event), so never leave a pipe undrained.
        """
        home = Path(self.home)
        kw: dict[str, object] = {
            "env": self.env(),
            "cwd": self.home,
            "stdin": subprocess.DEVNULL,
            "text": True,
        }
        kw.update(kwargs)
        if "stdout" not in kw:
            kw["stdout"] = (home / "stdout.log").open("w")
        if "stderr" not in kw:
            kw["stderr"] = (home / "stderr.log").open("w")
        return subprocess.Popen(self.argv(*args), **kw)  # type: ignore[call-overload]

    def output(self) -> str:
        """What a :meth:`popen` command wrote so far (stdout, then stderr)."""
        home = Path(self.home)
        parts = [home / "stdout.log", home / "stderr.log"]
        return "".join(p.read_text() for p in parts if p.exists())

    def trigger(
        self, event: str, *extra: str, timeout: float = 60.0
    ) -> subprocess.CompletedProcess[str]:
        return self.run("trigger", event, *extra, timeout=timeout)

    def fixtures(self, path: str | Path, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        return self.run("fixtures", str(path), timeout=timeout)

    def print_secret(self, timeout: float = 30.0) -> str:
        res = self.run("listen", "--print-secret", timeout=timeout, check=True)
        return res.stdout.strip().splitlines()[-1]

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> StripeCLI:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="stripe_cli", description=__doc__.split("\n\n")[0])
    ap.add_argument("--api-base", default="http://127.0.0.1:12111")
    ap.add_argument("--api-key", default=DEFAULT_KEY)
    ap.add_argument("args", nargs=argparse.REMAINDER)
    ns = ap.parse_args(argv)
    try:
        cli = StripeCLI(ns.api_base, ns.api_key)
    except (StripeCLIMissing, ValueError) as e:
        print(f"stripe_cli: {e}", file=sys.stderr)
        return 2
    with cli:
        return subprocess.call(cli.argv(*ns.args), env=cli.env())


if __name__ == "__main__":
    raise SystemExit(main())
