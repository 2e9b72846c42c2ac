"""The gate: which checks a config and a spec call for, and the state of one run.

``checks`` defines a ``Check`` and what running it yields (findings, samples); ``planners``
is the catalogue that expands every family into checks (``plan_checks``); ``ordering``
puts them in the order that keeps the data they need (reads first, deletes last); ``session`` holds
the config, spec, target, clients and store of one run; ``runner`` runs checks round by
round without pytest (``deploycheck pre-deploy``). Modules here may import every layer below
(``core``, ``phase1``, ``live``, ``score``), never ``after``, ``reports`` or the adapters.
"""
