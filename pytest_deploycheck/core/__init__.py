"""The ground every other layer stands on.

The configuration (``config``: schema validation and ``${VAR}`` interpolation), the loaded
OpenAPI document (``spec``; its text read by ``spec_text``: the YAML loader and line numbers),
what an operation does to the data (``effects``), the names of phases, rounds and families
(``families``), ``findings``, ``errors``, ``units``, ``stats``, secret masking
(``redaction``), measuring a document's depth without recursion (``nesting``), the
latency-timing HTTP transport (``wire``), the bounds on every request to the target
(``bounds``: a whole deadline, a ceiling on the answer, redirects only where configured) and
a spec's regular expressions read as ECMA-262 (``patterns``). Modules here import only each
other and third-party libraries, never another subpackage of ``pytest_deploycheck``.
"""
