"""The live checks: what a running service answers.

The service under test (``target``: a base URL or a locally started process), the requests
built from the spec (``probes``), resources of their own for the checks that delete and
example resources recreated once deleted (``disposable``), and the checks of phase2 and
phase3: ``health``, ``availability``, ``drift``, ``tls``, ``contract`` (schemathesis, its
requests sessions bounded by ``sessions``), ``smoke`` and ``performance``. Every check takes
an injected httpx client or transport. Modules here may import ``core`` and each other, never
``phase1`` or anything above.
"""
