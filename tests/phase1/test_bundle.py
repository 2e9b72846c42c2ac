"""Build artifacts: size limits in raw, gzip and brotli, and growth since the last run."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from pytest_deploycheck.core.errors import ConfigError
from pytest_deploycheck.core.findings import Finding, Severity, failures
from pytest_deploycheck.phase1.bundle import check_bundle, parse_artifacts, sized
from tests.sections import section_validator

# Text compresses well; random bytes do not: the two tell the compressions apart.
TEXT = b"export function handler(request) { return new Response('hello'); }\n" * 1500
NOISE = random.Random(1234).randbytes(6000)


def build(root: Path, artifacts: dict[str, bytes]) -> None:
    for name, content in artifacts.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def bundle(path: str, max_size: str, compression: str = "raw", **more: Any) -> dict[str, Any]:
    artifact = {"path": path, "max_size": max_size, "compression": compression, "name": "worker"}
    return {"artifacts": [artifact], **more}


def test_artifacts_under_their_limits_pass_and_are_measured(tmp_path: Path) -> None:
    build(tmp_path, {"dist/worker.js": TEXT, "dist/noise.bin": NOISE})
    section = {
        "artifacts": [
            {"path": "dist/worker.js", "max_size": "100 KiB", "name": "raw"},
            {"path": "dist/worker.js", "max_size": "2 KiB", "compression": "gzip", "name": "gz"},
            {"path": "dist/worker.js", "max_size": "1 KiB", "compression": "brotli", "name": "br"},
        ]
    }
    findings, measured = check_bundle(section, tmp_path, None)
    assert failures(findings) == []
    assert measured["raw"] == len(TEXT)
    assert 0 < measured["br"] < measured["gz"] < 2048
    assert [f.message for f in findings] == [
        f"raw: {measured['raw'] / 1024:.1f} KiB in dist/worker.js, limit 100.0 KiB",
        f"gz: {measured['gz']} B gzip in dist/worker.js, limit 2.0 KiB",
        f"br: {measured['br']} B brotli in dist/worker.js, limit 1.0 KiB",
    ]
    assert all(f.severity is Severity.INFO for f in findings)


def test_an_oversized_raw_artifact_names_size_limit_and_excess(tmp_path: Path) -> None:
    build(tmp_path, {"dist/worker.js": b"x" * 3072})
    findings, measured = check_bundle(bundle("dist/worker.js", "2 KiB"), tmp_path, None)
    assert measured == {"worker": 3072}
    assert failures(findings) == [
        Finding(
            "bundle-size",
            "worker is 3.0 KiB, over its limit of 2.0 KiB by 1.0 KiB "
            "(dist/worker.js; largest: dist/worker.js 3.0 KiB)",
            Severity.ERROR,
            "dist/worker.js",
        )
    ]


@pytest.mark.parametrize("compression", ["gzip", "brotli"])
def test_compressed_limits_measure_the_compressed_size(tmp_path: Path, compression: str) -> None:
    build(tmp_path, {"dist/text.js": TEXT, "dist/noise.js": NOISE})
    # the text is far over 4 KiB raw but under it compressed; the noise stays over it
    findings, _ = check_bundle(bundle("dist/text.js", "4 KiB", compression), tmp_path, None)
    assert failures(findings) == []
    findings, measured = check_bundle(bundle("dist/noise.js", "4 KiB", compression), tmp_path, None)
    assert measured["worker"] > 6000 - 100  # random bytes do not shrink
    (error,) = failures(findings)
    assert error.message.startswith(
        f"worker is {measured['worker'] / 1024:.1f} KiB {compression}, over its limit of 4.0 KiB"
    )


def test_a_glob_sums_every_file_it_matches_and_names_the_largest(tmp_path: Path) -> None:
    build(
        tmp_path,
        {
            "dist/a.js": b"a" * 1024,
            "dist/chunks/b.js": b"b" * 2048,
            "dist/chunks/deep/c.js": b"c" * 4096,
            "dist/chunks/d.js": b"d" * 512,
            "dist/readme.txt": b"not counted" * 1000,
        },
    )
    findings, measured = check_bundle(bundle("dist/**/*.js", "5 KiB"), tmp_path, None)
    assert measured == {"worker": 1024 + 2048 + 4096 + 512}
    (error,) = failures(findings)
    assert error.message == (
        "worker is 7.5 KiB, over its limit of 5.0 KiB by 2.5 KiB (4 files; largest: "
        "dist/chunks/deep/c.js 4.0 KiB, dist/chunks/b.js 2.0 KiB, dist/a.js 1.0 KiB)"
    )


def test_a_glob_matching_nothing_says_build_first(tmp_path: Path) -> None:
    (tmp_path / "dist").mkdir()
    findings, measured = check_bundle(bundle("dist/**/*.js", "1 MiB"), tmp_path, None)
    assert measured == {}
    assert findings == [
        Finding(
            "bundle-missing",
            "worker: 'dist/**/*.js' matches no file; build first (your build step, or name "
            "the build in bundle.prepare), or fix the glob",
            Severity.ERROR,
            "dist/**/*.js",
        )
    ]
    # the message names the project's own build command
    (tmp_path / "package.json").write_text('{"scripts": {"build": "vite build"}}')
    (tmp_path / "pnpm-lock.yaml").write_text("")
    findings, _ = check_bundle(bundle("dist/**/*.js", "1 MiB"), tmp_path, None)
    message = findings[0].message
    assert "build first (pnpm run build, or name the build in bundle.prepare)" in message


def test_growth_beyond_max_growth_names_old_and_new_sizes(tmp_path: Path) -> None:
    build(tmp_path, {"dist/worker.js": b"x" * 1200})
    section = bundle("dist/worker.js", "1 MiB", max_growth="10%")
    findings, measured = check_bundle(section, tmp_path, {"worker": 1000})
    assert failures(findings) == [
        Finding(
            "bundle-growth",
            "worker grew 20.0% from 1000 B to 1.2 KiB since the last run (max_growth 10%)",
            Severity.ERROR,
            "dist/worker.js",
        )
    ]
    assert measured == {"worker": 1200}
    # within the allowance, shrinking, a first run, or another artifact's history: no error
    for previous in ({"worker": 1100}, {"worker": 5000}, None, {"other": 1}):
        findings, _ = check_bundle(section, tmp_path, previous)
        assert failures(findings) == [], previous


def test_an_artifact_can_allow_more_growth_than_the_default(tmp_path: Path) -> None:
    build(tmp_path, {"dist/worker.js": b"x" * 1200})
    section = bundle("dist/worker.js", "1 MiB", max_growth="10%")
    section["artifacts"][0]["max_growth"] = "25%"
    findings, _ = check_bundle(section, tmp_path, {"worker": 1000})
    assert failures(findings) == []
    section["artifacts"][0]["max_growth"] = "2.5%"
    (error,) = failures(check_bundle(section, tmp_path, {"worker": 1000})[0])
    assert error.message.endswith("(max_growth 2.5%)")


def test_sized_compresses_as_configured() -> None:
    assert sized(TEXT, "raw") == len(TEXT)
    assert sized(TEXT, "gzip") < len(TEXT) // 50
    assert sized(TEXT, "brotli") < sized(TEXT, "gzip")
    # gzip output carries no timestamp: the same input always measures the same
    assert sized(NOISE, "gzip") == sized(NOISE, "gzip")


def test_bad_artifacts_are_config_errors_listing_every_problem() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_artifacts(
            {
                "max_growth": "ten percent",
                "artifacts": [
                    {"path": "dist/a.js", "max_size": "1 mb"},
                    {"path": "/abs/b.js"},
                    {"path": "dist/a.js"},
                ],
            }
        )
    assert caught.value.problems == [
        "bundle.max_growth: expected a percentage such as \"10%\" (got 'ten percent')",
        'bundle.artifacts[0].max_size: expected a size such as "500 kB", "1 MiB" or a number '
        "of bytes (got '1 mb')",
        "bundle.artifacts[1].path: '/abs/b.js' must be relative to the project root",
        "bundle.artifacts[2].name: 'dist/a.js' is used twice; give each artifact a name",
    ]


def test_the_section_schema_accepts_the_documented_shape_and_rejects_mistakes() -> None:
    validator = section_validator("bundle")
    good = {
        "artifacts": [
            {"path": "dist/**/*.js", "max_size": "1 MiB", "compression": "gzip", "name": "worker"},
            {"path": "dist/app.css", "max_size": 50000},
        ],
        "max_growth": "10%",
        "prepare": {"argv": ["npx", "wrangler", "deploy", "--dry-run", "--outdir", "dist"]},
    }
    assert list(validator.iter_errors(good)) == []
    bad = {"artifacts": [{"max_size": "1 MiB", "compression": "zstd"}], "max_growth": 0.1}
    assert len(list(validator.iter_errors(bad))) == 3
    worse = {"artifacts": [{"path": "dist/**", "exclude": "*.map"}], "prepare": {"argv": []}}
    assert len(list(validator.iter_errors(worse))) == 2


def test_exclude_leaves_files_out_of_an_artifact(tmp_path: Path) -> None:
    # what `wrangler deploy --dry-run --outdir dist` writes: the bundle, a text module, the
    # source map (not uploaded as code) and a README
    build(
        tmp_path,
        {
            "dist/index.js": TEXT,
            "dist/3e1f-openapi.yaml": b"openapi: 3.1.0\n" * 100,
            "dist/index.js.map": NOISE,
            "dist/README.md": b"built output",
        },
    )
    artifact = {
        "name": "worker",
        "path": "dist/**",
        "exclude": ["dist/**/*.map", "dist/**/README.md"],
        "max_size": "1 MiB",
    }
    findings, measured = check_bundle({"artifacts": [artifact]}, tmp_path, None)
    assert measured == {"worker": len(TEXT) + len(b"openapi: 3.1.0\n" * 100)}
    assert failures(findings) == []
    assert "in 2 files" in findings[-1].message
    everything = {"artifacts": [{**artifact, "exclude": ["dist/*"]}]}
    findings, measured = check_bundle(everything, tmp_path, None)
    assert measured == {}
    assert [f.rule for f in findings] == ["bundle-missing"]
    assert "matches no file outside exclude" in findings[0].message
