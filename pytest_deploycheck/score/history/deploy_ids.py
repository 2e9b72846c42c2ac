"""Which deployment a run belongs to: its id (``--deploy-id``, a CI commit variable, git's
HEAD or a timestamp) and the commit and branch CI or git report for it."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .records import Deployment

# The first variable set wins; each is the commit being built on that CI.
CI_COMMIT_VARIABLES = (
    "GITHUB_SHA",  # GitHub Actions
    "CI_COMMIT_SHA",  # GitLab CI
    "BUILDKITE_COMMIT",  # Buildkite
    "CIRCLE_SHA1",  # CircleCI
    "TRAVIS_COMMIT",  # Travis CI
    "BITBUCKET_COMMIT",  # Bitbucket Pipelines
    "BUILD_SOURCEVERSION",  # Azure Pipelines
    "DRONE_COMMIT_SHA",  # Drone, Woodpecker
    "SEMAPHORE_GIT_SHA",  # Semaphore
    "APPVEYOR_REPO_COMMIT",  # AppVeyor
    "CODEBUILD_RESOLVED_SOURCE_VERSION",  # AWS CodeBuild
    "GIT_COMMIT",  # Jenkins git plugin
)
CI_BRANCH_VARIABLES = (
    "GITHUB_HEAD_REF",  # set on pull requests only, so it goes before GITHUB_REF_NAME
    "GITHUB_REF_NAME",
    "CI_COMMIT_REF_NAME",
    "BUILDKITE_BRANCH",
    "CIRCLE_BRANCH",
    "TRAVIS_BRANCH",
    "BITBUCKET_BRANCH",
    "BUILD_SOURCEBRANCHNAME",
    "DRONE_BRANCH",
    "SEMAPHORE_GIT_BRANCH",
    "APPVEYOR_REPO_BRANCH",
    "GIT_BRANCH",
)

GitRunner = Callable[[Sequence[str], Path], str | None]


def _run_git(args: Sequence[str], cwd: Path) -> str | None:
    """The stripped output of ``git args`` in ``cwd``, or None when git is missing or fails."""
    try:
        completed = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    output = completed.stdout.strip()
    return output if completed.returncode == 0 and output else None


def resolve_deploy_id(
    explicit: str | None,
    environ: Mapping[str, str],
    cwd: Path,
    *,
    git: GitRunner = _run_git,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> str:
    """The deployment id: ``--deploy-id``, else a CI commit variable, else ``git rev-parse
    HEAD`` in ``cwd``, else a UTC timestamp id such as ``local-20250102T030405Z``."""
    if explicit and explicit.strip():
        return explicit.strip()
    for name in ("DEPLOYCHECK_DEPLOY_ID", *CI_COMMIT_VARIABLES):
        value = environ.get(name, "").strip()
        if value:
            return value
    head = git(["rev-parse", "HEAD"], cwd)
    if head:
        return head
    return "local-" + now().astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def describe_deployment(
    deploy_id: str,
    environ: Mapping[str, str],
    cwd: Path,
    *,
    environment: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    service: str | None = None,
    git: GitRunner = _run_git,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Deployment:
    """A :class:`Deployment` for ``deploy_id`` with the commit and branch CI or git report."""
    commit = next((environ[n] for n in CI_COMMIT_VARIABLES if environ.get(n)), None)
    commit = commit or git(["rev-parse", "HEAD"], cwd)
    branch = next((environ[n] for n in CI_BRANCH_VARIABLES if environ.get(n)), None)
    if branch is None:
        branch = git(["rev-parse", "--abbrev-ref", "HEAD"], cwd)
        branch = None if branch == "HEAD" else branch  # a detached HEAD has no branch
    return Deployment(
        id=deploy_id,
        created_at=now(),
        commit=commit,
        branch=branch,
        environment=environment or environ.get("DEPLOYCHECK_ENVIRONMENT") or None,
        metadata=dict(metadata or {}),
        service=service,
    )
