"""CLI: ``python -m simulator.stripe_emulator [--host] [--port] [--persist FILE] [--seed N]``."""

from __future__ import annotations

import argparse

from .server import serve


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="stripe-emulator", description=__doc__)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=12111)
    ap.add_argument("--persist", default=None, help="SQLite file to keep state across restarts")
    ap.add_argument("--seed", type=int, default=None, help="seed for repeatable ids")
    args = ap.parse_args(argv)
    serve(host=args.host, port=args.port, persist_path=args.persist, seed=args.seed)


if __name__ == "__main__":
    main()
