"""Build outputs whose size the ``bundle`` check can watch: ``dist/``, ``build/``... holding
scripts, styles or WebAssembly. Only an output that exists is configured: a glob that
matches nothing would fail phase1 on every run of a repository that builds nothing."""

from __future__ import annotations

from pathlib import Path

from pytest_deploycheck.phase1.bundle import build_command

_OUTPUT_DIRS = ("dist", "build", "out", ".output", "public/build")
_SUFFIXES = (".js", ".mjs", ".cjs", ".css", ".wasm")


def find_build_output(root: Path, notes: list[str]) -> list[str]:
    """The globs of the first build output folder found (``dist/**/*.js``...), or [] with a
    note on how to build when the project has a build step."""
    for folder in _OUTPUT_DIRS:
        base = root / folder
        if not base.is_dir():
            continue
        suffixes = sorted(
            {p.suffix for p in base.rglob("*") if p.is_file() and p.suffix in _SUFFIXES}
        )
        if suffixes:
            return [f"{folder}/**/*{suffix}" for suffix in suffixes]
    command = build_command(root)
    if command is not None:
        notes.append(
            f"bundle: no build output yet (dist/, build/...); run `{command}`, then "
            "`deploycheck init --force` (or add bundle.artifacts) to watch its size"
        )
    return []
