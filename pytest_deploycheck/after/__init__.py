"""After the deploy: collect rounds, the monitor, its alerts and the rollback.

``collect`` probes the deployment in rounds and stores them; ``monitor`` probes every
interval and escalates through ``alerts`` (pure), delivering through ``notify`` and exposing
``metrics``; ``rollback`` runs the configured command. Modules here may import ``core``,
``live`` (to probe) and ``score`` (to store), never ``gate``, ``reports`` or the adapters.
"""
