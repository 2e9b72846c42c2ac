"""``deploycheck self-test``: does every check still catch what it is for?

Each check family runs against fixtures shipped in ``fixtures/``, a known-good one on which it
must pass and known-bad ones on which it must fail with the rule that names the fault.
``model`` holds the fixture, its context and the resulting ``Case``; ``service`` is the
stock-keeping service the live families run against, served from a thread on 127.0.0.1;
``phase1_runners`` and ``live_runners`` call each family's check on a fixture;
``catalogue`` lists every fixture; ``run`` runs and judges them (``run_self_test``) and
``rendering`` turns the cases into a table or JSON, which only the command line prints.
Modules here may import ``core`` and each other, and the ``phase1`` and ``live`` checks they
run; never ``gate``, ``after``, ``reports`` or the adapters.
"""

from __future__ import annotations

from .catalogue import FIXTURES
from .model import Case
from .rendering import render_json, render_self_test
from .run import run_self_test, self_test_passed

__all__ = [
    "FIXTURES",
    "Case",
    "render_json",
    "render_self_test",
    "run_self_test",
    "self_test_passed",
]
