"""The phase1 checks: what can be judged before anything is deployed.

Static analysis commands, the environment (declared by ``.env.example`` too:
``env_example``), bundle sizes, the spec's validity and lint rules
(``lint``), breaking changes against a base spec (``breaking``), numbered SQL migrations
(``migrations``), the migrated database schema and the code models against the spec
(``database``, ``models``). Each is a pure function of files, the spec and the config that
returns findings; ``prepare`` runs the command a family names to write those files first
(a build, a schema export, a migrated database). Modules here may import ``core`` and each
other, nothing above.
"""
