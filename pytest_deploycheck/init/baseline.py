"""The base the ``breaking`` check compares the spec with: the default branch's spec when
the repository has one, else the last commit's (``HEAD:``). Read with ``git``, never run
through a shell; a folder that is no git repository has no base."""

from __future__ import annotations

import subprocess
from pathlib import Path

_GIT_TIMEOUT = 10.0


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _has(root: Path, revision: str, spec_path: str) -> bool:
    return _git(root, "cat-file", "-e", f"{revision}:./{spec_path}") is not None


def find_breaking_base(root: Path, spec_path: str, notes: list[str]) -> str | None:
    """``REV:PATH`` of the spec to compare with, or None (with a note saying why)."""
    if _git(root, "rev-parse", "--is-inside-work-tree") != "true":
        return None
    current = _git(root, "symbolic-ref", "--quiet", "--short", "HEAD")
    candidates = []
    remote = _git(root, "symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD")
    if remote:
        candidates.append(remote)  # origin/main: what a pull request merges into
    for branch in ("main", "master", "trunk", "develop"):
        # the default branch, compared with from another branch; on it, HEAD says the same
        if branch != current and _git(root, "rev-parse", "--verify", "--quiet", branch):
            candidates.append(branch)
    for revision in [*candidates, "HEAD"]:
        if _has(root, revision, spec_path):
            return f"{revision}:{spec_path}"
    notes.append(
        f"breaking: {spec_path} is not committed yet; commit it, then set breaking.base to "
        f"HEAD:{spec_path} (or your default branch's spec) to find breaking changes"
    )
    return None
