"""The ground every other layer stands on.

The configuration (``config``: schema validation and ``${VAR}`` interpolation), the loaded
OpenAPI document (``spec``), the names of phases, rounds and families (``families``),
``findings``, ``errors``, ``units``, ``stats``, secret masking (``redaction``), the
latency-timing HTTP transport (``wire``) and the bounds on every request to the target
(``bounds``: a whole deadline, a ceiling on the answer, redirects only where configured).
Modules here import only each other and third-party libraries, never another subpackage of
``pytest_deploycheck``.
"""
