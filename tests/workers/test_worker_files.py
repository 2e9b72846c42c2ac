"""The Workers example's files, read without Node.js: pinned dependencies, CI wiring."""

from __future__ import annotations

import json
import re

import yaml
from worker_project import EXAMPLE

from tests.live_server import REPO_ROOT


def test_every_npm_dependency_is_pinned_in_the_lock_file() -> None:
    manifest = json.loads((EXAMPLE / "package.json").read_text())
    lock = json.loads((EXAMPLE / "package-lock.json").read_text())
    declared = {**manifest["dependencies"], **manifest["devDependencies"]}
    assert {"hono", "zod", "wrangler"} <= set(declared)
    assert lock["packages"][""]["dependencies"] == manifest["dependencies"]
    for name, version in declared.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{name} {version} is not exact"
        locked = lock["packages"][f"node_modules/{name}"]
        assert locked["version"] == version
        assert locked["integrity"].startswith("sha512-")
    assert declared["zod"].startswith("4.")
    assert all("integrity" in entry for key, entry in lock["packages"].items() if key)


def test_ci_installs_the_workers_dependencies_and_sets_up_node() -> None:
    script = (REPO_ROOT / ".ci" / "run").read_text()
    assert "npm ci" in script
    assert "examples/workers_booking" in script
    ci = yaml.safe_load((REPO_ROOT / ".github" / "workflows" / "ci.yml").read_text())
    steps = ci["jobs"]["test"]["steps"]
    node = [s for s in steps if s.get("uses", "").startswith("actions/setup-node@")]
    assert len(node) == 1
    major = int(str(node[0]["with"]["node-version"]).split(".")[0])
    engines = json.loads((EXAMPLE / "package.json").read_text())["engines"]["node"]
    assert major >= int(re.findall(r"\d+", engines)[0])
    assert steps.index(node[0]) < next(
        i for i, s in enumerate(steps) if s.get("run") == "bash .ci/run"
    )


def test_generated_files_stay_out_of_git() -> None:
    ignored = (EXAMPLE / ".gitignore").read_text().split()
    for name in ("node_modules/", ".wrangler/", "dist/", "build/", ".dev.vars"):
        assert name in ignored
