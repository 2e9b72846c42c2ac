"""Build artifacts: their size against a limit, and their growth since the last run.

An artifact is a glob relative to the project root, minus the files its ``exclude`` globs
match (source maps next to a Worker bundle, say); its size is the sum over the files left, raw,
gzip (level 9, like bundlesize and size-limit) or brotli (quality 11). The measured sizes are
returned so the caller can record them in history and pass them back as ``previous`` next time.
"""

from __future__ import annotations

import glob
import gzip
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import brotli

from pytest_deploycheck.core.errors import ConfigError
from pytest_deploycheck.core.findings import Finding, Severity
from pytest_deploycheck.core.units import format_size, parse_percent, parse_size

__all__ = [
    "COMPRESSIONS",
    "Artifact",
    "build_command",
    "check_bundle",
    "measure",
    "parse_artifacts",
    "sized",
]

Compression = Literal["raw", "gzip", "brotli"]
COMPRESSIONS: tuple[Compression, ...] = ("raw", "gzip", "brotli")


@dataclass(frozen=True)
class Artifact:
    """One entry of ``bundle.artifacts``, defaults applied and units parsed."""

    name: str
    path: str
    max_size: int | None = None
    compression: Compression = "raw"
    max_growth: float | None = None
    exclude: tuple[str, ...] = ()


def parse_artifacts(section: Mapping[str, Any]) -> list[Artifact]:
    """The configured artifacts; ConfigError names every bad key and value at once."""
    problems: list[str] = []
    artifacts: list[Artifact] = []
    shared_growth = _percent(section.get("max_growth"), "bundle.max_growth", problems)
    for index, entry in enumerate(section.get("artifacts") or []):
        key = f"bundle.artifacts[{index}]"
        path = entry.get("path")
        if not isinstance(path, str) or not path:
            problems.append(f"{key}.path: expected a glob such as 'dist/**/*.js' (got {path!r})")
            continue
        if Path(path).is_absolute():
            problems.append(f"{key}.path: {path!r} must be relative to the project root")
            continue
        compression = entry.get("compression", "raw")
        if compression not in COMPRESSIONS:
            problems.append(
                f"{key}.compression: {compression!r} is not one of {', '.join(COMPRESSIONS)}"
            )
            continue
        max_size = None
        if entry.get("max_size") is not None:
            try:
                max_size = parse_size(entry["max_size"])
            except ValueError as exc:
                problems.append(f"{key}.max_size: {exc}")
        growth = _percent(entry.get("max_growth"), f"{key}.max_growth", problems)
        name = str(entry.get("name") or path)
        if any(artifact.name == name for artifact in artifacts):
            problems.append(f"{key}.name: {name!r} is used twice; give each artifact a name")
        exclude = tuple(str(pattern) for pattern in entry.get("exclude") or ())
        artifacts.append(
            Artifact(
                name,
                path,
                max_size,
                compression,
                growth if growth is not None else shared_growth,
                exclude,
            )
        )
    if problems:
        raise ConfigError(problems)
    return artifacts


def _percent(value: Any, key: str, problems: list[str]) -> float | None:
    if value is None:
        return None
    try:
        return parse_percent(value)
    except ValueError as exc:
        problems.append(f"{key}: {exc}")
        return None


def sized(data: bytes, compression: Compression) -> int:
    """The size of ``data`` once compressed as configured."""
    if compression == "gzip":
        # mtime=0 keeps the header, and so the size, independent of the clock
        return len(gzip.compress(data, compresslevel=9, mtime=0))
    if compression == "brotli":
        return len(brotli.compress(data, quality=11))
    return len(data)


def measure(artifact: Artifact, root: Path) -> dict[str, int]:
    """The size of each file ``artifact.path`` matches (minus ``exclude``), by path relative
    to the root."""
    matches = sorted(glob.glob(artifact.path, root_dir=root, recursive=True))
    excluded = {
        match
        for pattern in artifact.exclude
        for match in glob.glob(pattern, root_dir=root, recursive=True)
    }
    sizes: dict[str, int] = {}
    for match in matches:
        path = root / match
        if match in excluded or not path.is_file():
            continue
        if artifact.compression == "raw":
            sizes[match] = path.stat().st_size
        else:
            sizes[match] = sized(path.read_bytes(), artifact.compression)
    return sizes


_LOCKFILES = (
    ("pnpm-lock.yaml", "pnpm"),
    ("yarn.lock", "yarn"),
    ("bun.lockb", "bun"),
    ("bun.lock", "bun"),
)


def build_command(root: Path) -> str | None:
    """How the project builds, as its ``package.json`` says: ``npm run build`` (or the
    package manager its lockfile names), or None without a build script."""
    try:
        package = json.loads((root / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    scripts = package.get("scripts") if isinstance(package, dict) else None
    if not isinstance(scripts, dict) or not isinstance(scripts.get("build"), str):
        return None
    manager = next((m for name, m in _LOCKFILES if (root / name).is_file()), "npm")
    return f"{manager} run build"


def check_bundle(
    section: Mapping[str, Any], root: Path, previous: Mapping[str, int] | None
) -> tuple[list[Finding], dict[str, int]]:
    """Each artifact against its limit and its previous size; returns the sizes measured."""
    findings: list[Finding] = []
    measured: dict[str, int] = {}
    for artifact in parse_artifacts(section):
        files = measure(artifact, root)
        if not files:
            findings.append(
                Finding(
                    "bundle-missing",
                    f"{artifact.name}: {artifact.path!r} matches no file"
                    f"{' outside exclude' if artifact.exclude else ''}; build first "
                    f"({build_command(root) or 'your build step'}, or name the build in "
                    "bundle.prepare), or fix the glob",
                    location=artifact.path,
                )
            )
            continue
        size = measured[artifact.name] = sum(files.values())
        findings.extend(_judge(artifact, files, size, (previous or {}).get(artifact.name)))
    return findings, measured


def _judge(
    artifact: Artifact, files: Mapping[str, int], size: int, old: int | None
) -> list[Finding]:
    findings: list[Finding] = []
    how = "" if artifact.compression == "raw" else f" {artifact.compression}"
    count = f"{len(files)} files" if len(files) > 1 else next(iter(files))
    if artifact.max_size is not None and size > artifact.max_size:
        largest = sorted(files.items(), key=lambda item: item[1], reverse=True)[:3]
        biggest = ", ".join(f"{name} {format_size(bytes_)}" for name, bytes_ in largest)
        findings.append(
            Finding(
                "bundle-size",
                f"{artifact.name} is {format_size(size)}{how}, over its limit of "
                f"{format_size(artifact.max_size)} by {format_size(size - artifact.max_size)} "
                f"({count}; largest: {biggest})",
                location=artifact.path,
            )
        )
    if artifact.max_growth is not None and old is not None and size > old:
        growth = (size - old) / old if old else float("inf")
        if growth > artifact.max_growth:
            by = f" {growth:.1%}" if old else ""
            findings.append(
                Finding(
                    "bundle-growth",
                    f"{artifact.name} grew{by} from {format_size(old)} to "
                    f"{format_size(size)}{how} since the last run "
                    f"(max_growth {artifact.max_growth * 100:g}%)",
                    location=artifact.path,
                )
            )
    limit = f", limit {format_size(artifact.max_size)}" if artifact.max_size is not None else ""
    findings.append(
        Finding(
            "bundle-measured",
            f"{artifact.name}: {format_size(size)}{how} in {count}{limit}",
            Severity.INFO,
            artifact.path,
        )
    )
    return findings
