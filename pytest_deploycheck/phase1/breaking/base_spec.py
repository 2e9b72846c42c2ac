"""Loading the base spec: a file, or ``REV:PATH`` read from git with the files it references.

``load_base`` reads the base from a file or from git (``origin/main:specs/api.yaml``).
"""

from __future__ import annotations

import difflib
import json
import posixpath
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from pytest_deploycheck.core.errors import SpecError
from pytest_deploycheck.core.spec import Spec, load_spec, resolve_pointer

GIT_TIMEOUT = 30.0
"""Seconds one ``git`` call may take before the base counts as unreadable."""


def load_base(ref: str, root: Path) -> Spec:
    """The base spec: a file relative to ``root``, or ``REV:PATH`` read from git.

    ``PATH`` is relative to ``root`` (the folder of the config file), like every path in the
    config; a leading ``/`` makes it relative to the repository's top. Relative ``$ref`` to
    other files are read from the same revision.
    """
    if (root / ref).is_file():
        return load_spec(root / ref)
    revision, colon, path = ref.partition(":")
    drive = len(revision) == 1 and revision.isalpha() and path[:1] in ("\\", "/")
    if not colon or drive:
        raise SpecError(
            f"breaking.base: {ref!r} is neither a file under {root} nor a git revision; give "
            "a spec file relative to the config's folder, or REV:PATH such as "
            "'origin/main:specs/openapi.yaml'"
        )
    if not revision or not path:
        raise SpecError(
            f"breaking.base: {ref!r} needs both a revision and a path, REV:PATH, such as "
            "'HEAD~1:specs/openapi.yaml'"
        )
    if revision.startswith("-"):
        raise SpecError(f"breaking.base: {ref!r}: a git revision cannot start with '-'")
    return _GitRevision(ref, revision, root).load(path)


class _GitRevision:
    """Files of one git revision, read with ``git`` (never through a shell)."""

    def __init__(self, ref: str, revision: str, root: Path) -> None:
        self.ref = ref
        self.revision = revision
        self.root = root
        self.documents: dict[str, Any] = {}

    def git(self, *args: str) -> subprocess.CompletedProcess[bytes]:
        if not self.root.is_dir():
            raise SpecError(f"breaking.base {self.ref!r}: the folder {self.root} does not exist")
        try:
            return subprocess.run(
                ["git", *args], cwd=self.root, capture_output=True, timeout=GIT_TIMEOUT, check=False
            )
        except FileNotFoundError:
            raise SpecError(
                f"breaking.base {self.ref!r} is a git revision, but git is not installed or "
                "not on PATH; install git or give the base as a file"
            ) from None
        except subprocess.TimeoutExpired:
            raise SpecError(
                f"breaking.base {self.ref!r}: git {' '.join(args)} took more than "
                f"{GIT_TIMEOUT:g}s; check the repository in {self.root}"
            ) from None

    def load(self, path: str) -> Spec:
        prefix = self.prefix()
        self.verify_revision()
        relative = path.lstrip("/") if path.startswith("/") else posixpath.join(prefix, path)
        repo_path = posixpath.normpath(relative)
        if repo_path == ".." or repo_path.startswith("../"):
            raise SpecError(f"breaking.base {self.ref!r}: {path!r} leads out of the repository")
        document = self.read(repo_path, missing=lambda: self.missing(path, repo_path, prefix))
        if not isinstance(document, dict):
            raise SpecError(
                f"{self.revision}:{repo_path}: an OpenAPI document must be a mapping at the "
                "top level"
            )
        document = self.inline(document, repo_path, (repo_path,))
        return Spec(document=document, source=Path(f"{self.revision}:{repo_path}"))

    def prefix(self) -> str:
        result = self.git("rev-parse", "--show-prefix")
        if result.returncode != 0:
            detail = _first_line(result.stderr)
            raise SpecError(
                f"breaking.base {self.ref!r} is a git revision, but {self.root} is not inside a "
                f"git repository ({detail}); run in a clone, or give the base as a file"
            )
        return result.stdout.decode("utf-8", "replace").strip()

    def verify_revision(self) -> None:
        result = self.git("rev-parse", "--verify", "--quiet", f"{self.revision}^{{commit}}")
        if result.returncode == 0:
            return
        remotes = self.git("remote").stdout.decode("utf-8", "replace").split()
        remote, slash, branch = self.revision.partition("/")
        if slash and remote in remotes:
            hint = (
                f"fetch the base branch: git fetch {remote} {branch} (in GitHub Actions, "
                "use actions/checkout with fetch-depth: 0)"
            )
        elif "~" in self.revision or "^" in self.revision:
            hint = (
                "the clone may be too shallow for that ancestor: git fetch --deepen=50 "
                "(in GitHub Actions, use actions/checkout with fetch-depth: 0)"
            )
        else:
            hint = (
                "check the name with git branch -a and git tag, or fetch it: "
                f"git fetch origin {self.revision}"
            )
        raise SpecError(
            f"breaking.base {self.ref!r}: git revision {self.revision!r} does not exist in "
            f"this repository; {hint}"
        )

    def missing(self, path: str, repo_path: str, prefix: str) -> SpecError:
        listing = self.git("ls-tree", "-r", "--name-only", self.revision)
        names = listing.stdout.decode("utf-8", "replace").splitlines()
        close = difflib.get_close_matches(repo_path, names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        where = f"the config's folder {prefix.rstrip('/')!r}" if prefix else "the repository's top"
        return SpecError(
            f"breaking.base {self.ref!r}: {repo_path!r} does not exist at revision "
            f"{self.revision!r}{hint} (paths are relative to {where})"
        )

    def read(self, repo_path: str, missing: Callable[[], SpecError]) -> Any:
        if repo_path in self.documents:
            return self.documents[repo_path]
        spec = f"{self.revision}:{repo_path}"
        kind = self.git("cat-file", "-t", spec)
        if kind.returncode != 0:
            raise missing()
        if kind.stdout.strip() != b"blob":
            raise SpecError(f"breaking.base {self.ref!r}: {spec!r} is a folder, not a spec file")
        shown = self.git("show", spec)
        if shown.returncode != 0:
            raise SpecError(
                f"breaking.base {self.ref!r}: git show {spec} failed: {_first_line(shown.stderr)}"
            )
        try:
            text = shown.stdout.decode("utf-8-sig")  # without a byte order mark
        except UnicodeDecodeError:
            raise SpecError(f"{spec}: the spec is not UTF-8 text") from None
        document = _parse(text, spec, json_text=repo_path.endswith(".json"))
        self.documents[repo_path] = document
        return document

    def inline(self, node: Any, current: str, stack: tuple[str, ...]) -> Any:
        """Replace ``other.yaml#/x`` references by their content at the same revision."""
        if isinstance(node, list):
            return [self.inline(item, current, stack) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if not isinstance(ref, str) or ref.startswith("#"):
            return {key: self.inline(value, current, stack) for key, value in node.items()}
        where = f"{self.revision}:{current}"
        if "://" in ref:
            raise SpecError(f"{where}: remote $ref {ref!r} is not supported; download it")
        file_part, _, fragment = ref.partition("#")
        target = posixpath.normpath(posixpath.join(posixpath.dirname(current), file_part))
        if target in stack:
            raise SpecError(f"{where}: $ref {ref!r} makes a cycle between files")

        def missing() -> SpecError:
            return SpecError(
                f"{where}: $ref {ref!r} points at {target!r}, which does not exist at "
                f"revision {self.revision!r}"
            )

        content = self.inline(self.read(target, missing), target, (*stack, target))
        if fragment:
            content = resolve_pointer(content, "#" + fragment, f"{self.revision}:{target}")
        return content


def _first_line(stderr: bytes) -> str:
    lines = stderr.decode("utf-8", "replace").strip().splitlines()
    return lines[0] if lines else "no message"


def _parse(text: str, name: str, *, json_text: bool) -> Any:
    try:
        if json_text:
            return json.loads(text)
        # S506: the loader is CSafeLoader or SafeLoader, both safe; ruff cannot see that.
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    except json.JSONDecodeError as exc:
        raise SpecError(f"{name}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{name}:{mark.line + 1}:{mark.column + 1}" if mark else name
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(f"{where}: invalid YAML: {problem}") from None
