"""Required environment variables and their types."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_deploycheck.core.errors import ConfigError
from pytest_deploycheck.core.findings import Finding, Severity, failures
from pytest_deploycheck.core.redaction import Redactor
from pytest_deploycheck.phase1.environment import (
    BOOL_FALSE,
    BOOL_TRUE,
    Variable,
    check_environment,
    check_value,
    parse_bool,
    parse_int,
    parse_port,
    parse_url,
    parse_variables_section,
)
from tests.sections import section_validator

SECTION: dict[str, Any] = {
    "files": [".env", ".dev.vars"],
    "variables": {
        "DATABASE_URL": {"type": "url", "required": True, "secret": True},
        "PORT": {"type": "port", "default": "8080"},
        "LOG_LEVEL": {"type": "choice", "choices": ["debug", "info"]},
        "ADMIN_EMAIL": {"type": "email"},
        "FEATURE_X": {"type": "bool"},
        "NAME": {"type": "string", "pattern": "^[a-z]+$", "min_length": 3},
        "WORKERS": {"type": "int", "min": 1, "max": 16},
    },
}


def errors(findings: list[Finding]) -> list[str]:
    return [str(f) for f in failures(findings)]


def write(root: Path, name: str, text: str) -> None:
    (root / name).write_text(text, encoding="utf-8")


def test_a_good_environment_passes(tmp_path: Path) -> None:
    write(tmp_path, ".env", "LOG_LEVEL=info\nADMIN_EMAIL=ops@example.com\n")
    write(tmp_path, ".dev.vars", 'FEATURE_X="On"\nNAME=alice\n')
    environ = {"DATABASE_URL": "postgres://u:p@db:5432/app", "WORKERS": "4"}
    assert errors(check_environment(SECTION, tmp_path, environ)) == []


def test_the_environment_wins_then_the_files_in_order(tmp_path: Path) -> None:
    section = {"files": [".env", ".dev.vars"], "variables": {"PORT": {"type": "port"}}}
    write(tmp_path, ".env", "PORT=99999\n")
    write(tmp_path, ".dev.vars", "PORT=1\n")
    assert errors(check_environment(section, tmp_path, {"PORT": "8000"})) == []
    assert errors(check_environment(section, tmp_path, {})) == [
        ".env:1: error [env-invalid] PORT is not a valid port (1..65535) (got '99999'; from .env:1)"
    ]
    (tmp_path / ".env").unlink()
    findings = check_environment(section, tmp_path, {})
    assert errors(findings) == []
    assert Finding("env-file", ".env does not exist; skipped", Severity.INFO, ".env") in findings


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    write(
        tmp_path,
        ".env",
        "LOG_LEVEL=verbose\nADMIN_EMAIL=ops.example.com\nFEATURE_X=maybe\n"
        "NAME=Al\nWORKERS=32\nPORT=http\n",
    )
    assert errors(check_environment(SECTION, tmp_path, {})) == [
        "error [env-missing] DATABASE_URL is required but not set "
        "(looked in the environment, .env, .dev.vars)",
        ".env:6: error [env-invalid] PORT is not a valid port (1..65535) (got 'http'; from .env:6)",
        ".env:1: error [env-invalid] LOG_LEVEL is not one of debug, info "
        "(got 'verbose'; from .env:1)",
        ".env:2: error [env-invalid] ADMIN_EMAIL is not a valid email address "
        "(got 'ops.example.com'; from .env:2)",
        ".env:3: error [env-invalid] FEATURE_X is not a bool (use true/false, 1/0, yes/no or "
        "on/off) (got 'maybe'; from .env:3)",
        ".env:4: error [env-invalid] NAME does not match the pattern ^[a-z]+$ "
        "(got 'Al'; from .env:4)",
        ".env:5: error [env-invalid] WORKERS is above the maximum 16 (got '32'; from .env:5)",
    ]


def test_a_malformed_url_says_why(tmp_path: Path) -> None:
    section = {"variables": {"API_URL": {"type": "url", "schemes": ["https"]}}}
    cases = {
        "api.example.com": "is not a valid url (it has no scheme; expected scheme://host)",
        "https://": "is not a valid url (it has no host)",
        "http://api.example.com": "is not a valid url (the scheme must be one of https)",
        "https://api.example.com:99999/": "is not a valid url",
    }
    for value, reason in cases.items():
        (finding,) = failures(check_environment(section, tmp_path, {"API_URL": value}))
        assert finding.message == f"API_URL {reason} (got {value!r}; from the environment)"


def test_a_secret_never_appears_even_partly(tmp_path: Path) -> None:
    secret = "hunter2-not-a-url"
    write(tmp_path, ".env", f"DATABASE_URL={secret}\nAPI_TOKEN=t1ny-t0k\n")
    section = {
        "variables": {
            "DATABASE_URL": {"type": "url", "required": True, "secret": True},
            "API_TOKEN": {"type": "string", "min_length": 20},
            "SIGNING_KEY": {"type": "string", "required": True},
        }
    }
    findings = check_environment(section, tmp_path, {})
    assert errors(findings) == [
        ".env:1: error [env-invalid] DATABASE_URL is not a valid url (it has no scheme; expected "
        "scheme://host) (value hidden: secret; from .env:1)",
        ".env:2: error [env-invalid] API_TOKEN is shorter than 20 characters "
        "(value hidden: secret; from .env:2)",
        "error [env-missing] SIGNING_KEY is required but not set (looked in the environment, .env)",
    ]
    text = "\n".join(str(f) for f in findings)
    for part in ("hunter2", "not-a-url", "t1ny", "t0k"):
        assert part not in text


def test_secret_false_shows_a_secret_looking_name() -> None:
    (variable,) = parse_variables_section({"variables": {"CACHE_KEY": {"secret": False}}})
    assert variable.secret is False
    (variable,) = parse_variables_section({"variables": {"CACHE_KEY": {}}})
    assert variable.secret is True


def test_an_expanded_secret_is_hidden_inside_a_plain_value(tmp_path: Path) -> None:
    write(tmp_path, ".env", "DB_PASSWORD=s3cr3t-pw\nDSN=postgres://app:${DB_PASSWORD}@/db\n")
    section = {"variables": {"DSN": {"type": "url"}}}
    # a secret too short to hide inside other text ("db") is hidden only as a whole value
    (finding,) = failures(check_environment(section, tmp_path, {"SHORT_KEY": "db"}))
    assert finding.message == (
        "DSN is not a valid url (it has no host) (got 'postgres://app:***@/db'; from .env:2)"
    )


def test_dotenv_expansion_reads_the_injected_environment(tmp_path: Path) -> None:
    write(tmp_path, ".env", "PORT=${BASE_PORT:-80}${SUFFIX}\n")
    section = {"variables": {"PORT": {"type": "port", "required": True}}}
    assert errors(check_environment(section, tmp_path, {"SUFFIX": "80"})) == []
    (finding,) = failures(check_environment(section, tmp_path, {"SUFFIX": "800000"}))
    assert "(got '80800000'; from .env:1)" in finding.message


def test_a_malformed_line_is_reported_by_file_and_line_without_its_content(
    tmp_path: Path,
) -> None:
    write(tmp_path, ".dev.vars", "# comment\nGOOD=1\n\n\n'BROKEN=p@ss secret\nNAME=bob\n")
    section = {"files": [".dev.vars"], "variables": {"NAME": {"required": True}}}
    findings = check_environment(section, tmp_path, {})
    assert failures(findings) == [
        Finding(
            "env-malformed-line",
            ".dev.vars:5: cannot parse this line; write KEY=value",
            Severity.ERROR,
            ".dev.vars:5",
        )
    ]
    assert "p@ss" not in str(findings)


def test_defaults_are_used_and_checked(tmp_path: Path) -> None:
    section: dict[str, Any] = {"files": [], "variables": {"PORT": {"type": "port", "default": "0"}}}
    (finding,) = failures(check_environment(section, tmp_path, {}))
    assert finding.message == (
        "PORT is not a valid port (1..65535) (got '0'; from the default in "
        "env.variables.PORT.default)"
    )
    section["variables"]["PORT"]["default"] = "8080"
    assert errors(check_environment(section, tmp_path, {})) == []


def test_an_unset_optional_variable_is_only_information(tmp_path: Path) -> None:
    findings = check_environment({"variables": {"X": {}}}, tmp_path, {})
    assert findings == [
        Finding("env-file", ".env does not exist; skipped", Severity.INFO, ".env"),
        Finding("env-unset", "X is not set (optional)", Severity.INFO),
    ]


def test_whitespace_around_a_value_is_named() -> None:
    variable = Variable("FEATURE_X", "bool")
    assert check_value(variable, "true ") == (
        "is not a bool (use true/false, 1/0, yes/no or on/off) "
        "(it has leading or trailing whitespace)"
    )


def test_configuration_the_schema_cannot_catch_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_variables_section(
            {
                "variables": {
                    "A": {"type": "choice"},
                    "B": {"type": "pattern"},
                    "C": {"pattern": "(["},
                }
            }
        )
    assert caught.value.problems[:2] == [
        "env.variables.A: type 'choice' needs 'choices' (a list of allowed values)",
        "env.variables.B: type 'pattern' needs a 'pattern' (a regular expression)",
    ]
    assert caught.value.problems[2].startswith("env.variables.C.pattern: '([' is not a regex")


# -- the value parsers -----------------------------------------------------------------------


@given(st.sampled_from(sorted(BOOL_TRUE | BOOL_FALSE)), st.data())
def test_parse_bool_accepts_every_spelling_in_any_case(word: str, data: st.DataObject) -> None:
    flips = data.draw(st.lists(st.booleans(), min_size=len(word), max_size=len(word)))
    spelled = "".join(c.upper() if flip else c for c, flip in zip(word, flips, strict=True))
    assert parse_bool(spelled) is (word in BOOL_TRUE)


@given(st.text())
def test_parse_bool_rejects_everything_else(text: str) -> None:
    if text.lower() in BOOL_TRUE | BOOL_FALSE:
        return
    with pytest.raises(ValueError, match="is not a bool"):
        parse_bool(text)


@given(st.integers())
def test_parse_port_accepts_exactly_1_to_65535(number: int) -> None:
    if 1 <= number <= 65535:
        assert parse_port(str(number)) == number
    else:
        with pytest.raises(ValueError, match=r"is not a valid port \(1\.\.65535\)"):
            parse_port(str(number))


@given(st.integers(), st.integers(-100, 100), st.integers(-100, 100))
def test_parse_int_round_trips_and_keeps_its_bounds(number: int, low: int, high: int) -> None:
    if low <= number <= high:
        assert parse_int(str(number), low, high) == number
    else:
        with pytest.raises(ValueError, match=r"is (below the minimum|above the maximum)"):
            parse_int(str(number), low, high)
    assert parse_int(str(number)) == number


@given(st.text(alphabet="0123456789 ._-x٣", min_size=1))
def test_parse_int_rejects_what_is_not_plain_ascii_digits(text: str) -> None:
    stripped = text.lstrip("-")
    if stripped.isascii() and stripped.isdigit() and text.count("-") <= 1:
        assert parse_int(text) == int(text)
    else:
        with pytest.raises(ValueError, match="is not an integer"):
            parse_int(text)


@given(
    st.sampled_from(["http", "https", "postgres"]),
    st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z]{2,6}){0,2}", fullmatch=True),
    st.one_of(st.none(), st.integers(1, 65535)),
)
def test_parse_url_accepts_scheme_host_and_port(scheme: str, host: str, port: int | None) -> None:
    url = f"{scheme}://{host}" + (f":{port}" if port else "") + "/path"
    assert parse_url(url) == url
    assert parse_url(url, ["HTTP", "https", "postgres"]) == url


_SECRET_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ!#%&*+=?~^23456789"


@given(
    st.sampled_from(["string", "int", "bool", "url", "port", "email", "choice"]),
    st.text(alphabet=_SECRET_ALPHABET, min_size=10, max_size=40),
)
def test_a_secret_value_never_reaches_a_message(kind: str, secret: str) -> None:
    options: dict[str, Any] = {"type": kind, "secret": True, "max_length": 5}
    if kind == "choice":
        options["choices"] = ["a", "b"]
    section = {"files": [], "variables": {"VALUE": options}}
    findings = check_environment(section, Path("."), {"VALUE": secret})
    assert failures(findings)  # every value above is invalid for its type or too long
    for finding in findings:
        assert secret not in str(finding)
        assert secret[:6] not in str(finding)


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("API_TOKEN", True),
        ("stripe_secret", True),
        ("DB_PASSWORD", True),
        ("DB_PASS", True),
        ("MYSQL_PWD", True),
        ("SESSION_COOKIE", True),
        ("SIGNING_KEY", True),
        ("PORT", False),
        ("BYPASS_CACHE", False),
        ("PWD", False),
    ],
)
def test_variables_are_secret_by_default_by_the_one_redaction_rule(name: str, secret: bool) -> None:
    (variable,) = parse_variables_section({"variables": {name: {"type": "int"}}})
    assert variable.secret is secret


@pytest.mark.parametrize("name", ["SESSION_COOKIE", "DB_PASS", "MYSQL_PWD", "dbPass"])
def test_an_invalid_dotenv_value_of_a_secret_looking_name_is_never_shown(
    tmp_path: Path, name: str
) -> None:
    secret = "abcd-efgh-SECRET-9999"
    write(tmp_path, ".env", f"{name}={secret}\nGREETING=hi ${{{name}}}\n")
    section = {"variables": {name: {"type": "int"}, "GREETING": {"type": "int"}}}
    findings = check_environment(section, tmp_path, {})
    assert errors(findings) == [
        f".env:1: error [env-invalid] {name} is not an integer (value hidden: secret; from .env:1)",
        ".env:2: error [env-invalid] GREETING is not an integer (got 'hi ***'; from .env:2)",
    ]
    text = "\n".join(str(finding) for finding in findings)
    assert "SECRET-9999" not in text
    assert "abcd" not in text


def test_an_undeclared_secret_looking_dotenv_value_is_masked_where_it_is_embedded(
    tmp_path: Path,
) -> None:
    write(tmp_path, ".env", "DB_PASS=pa55-w0rd-77\nDSN=postgres://app:${DB_PASS}@/db\n")
    section = {"variables": {"DSN": {"type": "url"}}}
    (finding,) = failures(check_environment(section, tmp_path, {}))
    assert finding.message == (
        "DSN is not a valid url (it has no host) (got 'postgres://app:***@/db'; from .env:2)"
    )


def test_the_session_redactor_masks_what_only_the_session_knows(tmp_path: Path) -> None:
    # a value the config marks secret elsewhere (a header, a ${VAR}) under a plain name here
    write(tmp_path, ".env", "WORKERS=many-ops-tok3n\n")
    section = {"variables": {"WORKERS": {"type": "int"}}}
    plain = failures(check_environment(section, tmp_path, {}))
    assert plain[0].message.endswith("(got 'many-ops-tok3n'; from .env:1)")

    findings = check_environment(section, tmp_path, {}, redact=Redactor(["ops-tok3n"]).redact)
    (finding,) = failures(findings)
    assert finding.message == "WORKERS is not an integer (got 'many-***'; from .env:1)"
    assert finding.location == ".env:1"


# -- the section schema ----------------------------------------------------------------------


def test_the_section_schema_accepts_the_documented_shape_and_rejects_mistakes() -> None:
    validator = section_validator("env")
    assert list(validator.iter_errors(SECTION)) == []
    bad = {
        "variables": {
            "LOG_LEVEL": {"type": "choice"},
            "PORT": {"type": "port", "requried": True},
            "NAME": {"type": "text"},
        }
    }
    assert len(list(validator.iter_errors(bad))) == 3


# -- .env.example as the declaration (dotenv-safe / envalid) ----------------------------------

EXAMPLE = """\
# the payment provider's token
PAYMENTS_API_TOKEN=
DATABASE_URL=sqlite:///shop.db
LOG_LEVEL=info  # optional
# optional: only for the nightly export
EXPORT_BUCKET=
# optional (a blank line parts this comment from the next name)

FEATURE_FLAGS=
"""


def test_every_name_of_the_example_is_required_unless_marked_optional(tmp_path: Path) -> None:
    write(tmp_path, ".env.example", EXAMPLE)
    section = {"example": ".env.example"}

    findings = check_environment(section, tmp_path, {})

    assert [f.message for f in failures(findings)] == [
        "PAYMENTS_API_TOKEN is required (declared in .env.example:2) but not set "
        "(looked in the environment, .env)",
        "DATABASE_URL is required (declared in .env.example:3) but not set "
        "(looked in the environment, .env)",
        "FEATURE_FLAGS is required (declared in .env.example:9) but not set "
        "(looked in the environment, .env)",
    ]
    optional = {f.message for f in findings if f.rule == "env-unset"}
    assert optional == {"LOG_LEVEL is not set (optional)", "EXPORT_BUCKET is not set (optional)"}
    # the example's values are examples, never the service's values
    environ = {"PAYMENTS_API_TOKEN": "tok-123456", "DATABASE_URL": "x", "FEATURE_FLAGS": "a"}
    assert errors(check_environment(section, tmp_path, environ)) == []


def test_a_declared_secret_is_required_and_never_shown(tmp_path: Path) -> None:
    write(tmp_path, ".env.example", "PAYMENTS_API_TOKEN=\n")
    section = {"example": [".env.example"], "variables": {"PAYMENTS_API_TOKEN": {"type": "int"}}}

    findings = check_environment(section, tmp_path, {"PAYMENTS_API_TOKEN": "s3cr3t-value"})

    assert [f.message for f in failures(findings)] == [
        "PAYMENTS_API_TOKEN is not an integer (value hidden: secret; from the environment)"
    ]
    # variables may relax what the file declares
    relaxed = {"example": ".env.example", "variables": {"PAYMENTS_API_TOKEN": {"required": False}}}
    assert errors(check_environment(relaxed, tmp_path, {})) == []


def test_a_required_variable_refuses_an_empty_value(tmp_path: Path) -> None:
    write(tmp_path, ".env", "API_TOKEN=\n")
    section = {"variables": {"API_TOKEN": {"required": True}, "NOTE": {}}}

    findings = check_environment(section, tmp_path, {"NOTE": ""})

    assert [f.message for f in failures(findings)] == [
        "API_TOKEN is required but empty (from .env:1)"
    ]


def test_a_missing_example_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"env\.example: '\.env\.example' does not exist"):
        check_environment({"example": ".env.example"}, tmp_path, {})


def test_workers_declare_in_dev_vars_example(tmp_path: Path) -> None:
    write(tmp_path, ".dev.vars.example", "STRIPE_SECRET=\nLOG_LEVEL=debug # optional\n")
    write(tmp_path, ".dev.vars", "STRIPE_SECRET=sk_live_abcdef\n")
    section = {"example": ".dev.vars.example", "files": [".dev.vars"]}

    assert errors(check_environment(section, tmp_path, {})) == []
