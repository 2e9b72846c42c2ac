"""``python -m examples.booking_api``: serve the booking API with uvicorn."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Sequence

from .db import DatabaseError
from .settings import Settings, SettingsError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m examples.booking_api",
        description="Serve the reference appointment-booking API.",
        epilog="BOOKING_* environment variables set the rest; see examples/booking_api/README.md.",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=8000, help="port to bind (default: %(default)s)"
    )
    parser.add_argument(
        "--database",
        help="SQLite file, or :memory: (default: BOOKING_DATABASE, else :memory:)",
    )
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="uvicorn log level (default: %(default)s)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, build the app and serve it until interrupted."""
    args = _parser().parse_args(argv)
    # Imported here so that --help answers without loading FastAPI.
    import uvicorn

    from .app import create_app

    try:
        settings = Settings.from_env(os.environ)
        if args.database:
            settings = dataclasses.replace(settings, database=args.database)
        app = create_app(settings)
    except (SettingsError, DatabaseError) as exc:
        print(f"booking_api: error: {exc}", file=sys.stderr)
        return 2
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0


if __name__ == "__main__":
    sys.exit(main())
