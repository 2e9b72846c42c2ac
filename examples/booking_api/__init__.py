"""The reference appointment-booking service: FastAPI, SQLite and a hand-written OpenAPI spec.

Run it with ``python -m examples.booking_api`` or ``uvicorn examples.booking_api.app:app``;
``create_app`` builds one for tests. The README next to this file lists the settings and the
fault switches.
"""

from __future__ import annotations

__version__ = "1.0.0"

__all__ = ["__version__"]
