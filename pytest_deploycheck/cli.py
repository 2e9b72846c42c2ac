"""The ``deploycheck`` command line.

Every command turns a ``DeployCheckError`` into its message on stderr and exit code 2;
check failures exit with 1; a bug of deploycheck itself (any other exception, or a lint rule
that failed) is one line on stderr and exit code 3, as pytest's internal errors are.
``monitor`` exits with the highest alert level reached (0 to 3), so a monitor that could not
run, for any of those reasons or a bad option, exits with 4 instead.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click
from rich.console import Console

from pytest_deploycheck.core.errors import DeployCheckError

if TYPE_CHECKING:
    from pytest_deploycheck.score.history import HistoryStore

F = TypeVar("F", bound=Callable[..., Any])

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_MONITOR_ERROR = 4  # above every alert level the monitor exits with


def _console(stderr: bool = False) -> Console:
    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def exit_on_error(code: int, *, internal: int = EXIT_INTERNAL) -> Callable[[F], F]:
    """Print a DeployCheckError as ``deploycheck: error: ...`` and exit with ``code``.

    Any other exception is a bug: one line and exit code ``internal``, unless
    ``DEPLOYCHECK_DEBUG`` is set, which shows the traceback to report.
    """

    def decorate(command: F) -> F:
        @functools.wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return command(*args, **kwargs)
            except DeployCheckError as exc:
                lines = str(exc).splitlines() or [type(exc).__name__]
                click.echo(f"deploycheck: error: {lines[0]}", err=True)
                for line in lines[1:]:
                    click.echo(line, err=True)
                sys.exit(code)
            except (click.ClickException, click.exceptions.Exit, click.Abort):
                raise  # click's own usage errors and exits
            except Exception as exc:
                if os.environ.get("DEPLOYCHECK_DEBUG"):
                    raise
                first = str(exc).splitlines()[0] if str(exc) else ""
                click.echo(
                    f"deploycheck: internal error: {type(exc).__name__}: {first} (a bug in "
                    "deploycheck: please report it; DEPLOYCHECK_DEBUG=1 shows the traceback)",
                    err=True,
                )
                sys.exit(internal)

        return wrapper  # type: ignore[return-value]

    return decorate


handle_errors = exit_on_error(EXIT_USAGE)


class _MonitorUsageError(click.UsageError):
    exit_code = EXIT_MONITOR_ERROR


class MonitorCommand(click.Command):
    """``deploycheck monitor``: a bad option exits with 4, not click's 2 (alert level 2)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as error:
            raise _MonitorUsageError(error.format_message(), error.ctx) from None


config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default="deployment-config.json",
    show_default=True,
    help="The gate's config file.",
)
base_url_option = click.option(
    "--base-url",
    envvar="DEPLOYCHECK_BASE_URL",
    help="The deployed service (default: target.base_url, else started locally).",
)
service_option = click.option(
    "--service",
    metavar="NAME",
    help="The service whose history to use, where the store holds several "
    "(default: service.name of the config).",
)


@contextmanager
def _session(
    config_path: Path,
    base_url: str | None = None,
    deploy_id: str | None = None,
    *,
    history_only: bool = False,
    service: str | None = None,
) -> Iterator[Any]:
    """A validated session; stops the local service and closes the history at the end.

    ``history_only``: the command reads the history and nothing else, so the target's
    ``${VAR}`` (its credentials) need not be set where it runs.
    """
    from pytest_deploycheck.core.config import HISTORY_SECTIONS
    from pytest_deploycheck.core.redaction import redact_log_records
    from pytest_deploycheck.gate.session import DeployCheckSession

    if not config_path.is_file():
        raise DeployCheckError(
            f"{config_path}: no such file; run 'deploycheck init' to write one, "
            "or name another with --config PATH"
        )
    session = DeployCheckSession(
        config_path,
        base_url,
        deploy_id,
        sections=HISTORY_SECTIONS if history_only else None,
        service=service,
    )
    restore_logging = redact_log_records(session.mask)
    try:
        session.config  # noqa: B018 - load and validate now, so errors come before any work
        yield session
    except DeployCheckError as exc:
        # a command's output (a local service's log, say) may hold a secret of the config
        raise DeployCheckError(session.redactor.redact(str(exc))) from None
    finally:
        session.close()
        restore_logging()


def _known_service(store: HistoryStore, service: str | None) -> None:
    """``--service`` must name a service of the store (a typo would show an empty history)."""
    if service is None:
        return
    services = store.services()
    if services and service not in services:
        from difflib import get_close_matches

        close = get_close_matches(service, services, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise DeployCheckError(
            f"--service {service!r}: the history holds no deployment of it{hint}; "
            f"its services: {', '.join(services)}"
        )


def _write(path: str | Path, text: str, *, append: bool = False) -> None:
    """Write a report file; a path that cannot be written is a usage error, not a crash."""
    try:
        with open(path, "a" if append else "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise DeployCheckError(f"cannot write {path}: {exc.strerror or exc}") from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pytest-deploycheck")
def main() -> None:
    """A spec-driven deployment gate: checks, score, history, reports, monitor, rollback."""


@main.command()
@click.option("--section", help="Print only this section's schema.")
@click.option(
    "--write",
    "write_path",
    is_flag=False,
    flag_value=".deploycheck/deployment-config.schema.json",
    default=None,
    metavar="[PATH]",
    help="Write the whole schema to PATH (default: .deploycheck/deployment-config.schema.json, "
    "where the $schema that init writes points), for editors to read offline.",
)
@handle_errors
def schema(section: str | None, write_path: str | None) -> None:
    """Print the JSON Schema of deployment-config.json (or write it: --write)."""
    from pytest_deploycheck.core.config import schema_document

    if write_path is not None:
        from .init import write_schema

        click.echo(f"wrote {write_schema(Path(write_path))}")
        return
    document = schema_document()
    if section:
        definitions = document.get("$defs", {})
        if section not in definitions:
            raise click.BadParameter(f"no section {section!r}; sections: {sorted(definitions)}")
        # the section refers to the shared definitions: keep them, so it resolves alone
        document = {**definitions[section], "$defs": {"common": definitions["common"]}}
    click.echo(json.dumps(document, indent=2))


@main.command("check-config")
@config_option
@handle_errors
def check_config(config_path: Path) -> None:
    """Validate the config file and the spec it names; list every problem."""
    from pytest_deploycheck.gate.planners import plan_checks

    with _session(config_path) as session:
        operations = session.spec.operations
        spec_name = session.config.spec_path.name
        checks = plan_checks(session)  # settings that name what the spec lacks fail here
    click.echo(
        f"{config_path}: valid; spec {spec_name}: {len(operations)} operations, "
        f"{len(checks)} checks"
    )


@main.command()
@click.argument("spec_path", required=False, type=click.Path(path_type=Path))
@config_option
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text")
@handle_errors
def lint(spec_path: Path | None, config_path: Path, output: str) -> None:
    """Validate an OpenAPI document and lint it (default: the config's spec)."""
    from pytest_deploycheck.core.findings import failures, format_findings
    from pytest_deploycheck.core.spec import load_spec
    from pytest_deploycheck.phase1.lint import RULE_CRASHED, check_openapi

    settings: Any = {}
    if spec_path is None:
        with _session(config_path) as session:
            spec = session.spec
            settings = session.section("openapi")
    else:
        spec = load_spec(spec_path)
        if config_path.exists():
            # the config's rule settings apply to any spec, but a broken config must not
            # stop the lint of another file
            try:
                with _session(config_path) as session:
                    settings = session.section("openapi")
            except DeployCheckError as exc:
                first = str(exc).splitlines()[0]
                click.echo(f"deploycheck: ignoring {config_path} ({first})", err=True)
    findings = check_openapi(spec, settings)
    if output == "json":
        rows = [
            {
                "rule": f.rule,
                "severity": f.severity.value,
                "message": f.message,
                "location": f.location,
            }
            for f in findings
        ]
        click.echo(json.dumps(rows, indent=2))
    elif findings:
        click.echo(format_findings(findings))
    errors = failures(findings)
    if output == "text":
        warnings = len(findings) - len(errors)
        click.echo(
            f"{spec.name}: {len(spec.operations)} operations, {len(errors)} errors, "
            f"{warnings} warnings and notes",
            err=True,
        )
    if any(f.rule == RULE_CRASHED for f in findings):
        click.echo(
            "deploycheck: internal error: a lint rule failed (see above); the other rules ran",
            err=True,
        )
        sys.exit(EXIT_INTERNAL)
    sys.exit(EXIT_FAILED if errors else 0)


@main.command("pre-deploy")
@config_option
@click.option("--keep-going", is_flag=True, help="Run every round even after a failing one.")
@handle_errors
def pre_deploy(config_path: Path, keep_going: bool) -> None:
    """Run phase1 round by round; stop at the first failing round."""
    from rich.markup import escape
    from rich.table import Table

    from pytest_deploycheck.core.families import ROUNDS
    from pytest_deploycheck.gate.planners import plan_checks
    from pytest_deploycheck.gate.runner import CheckResult, run_rounds

    console = _console()
    with _session(config_path) as session:
        checks = plan_checks(session)
        # one availability sweep for all operations, as in a pytest run
        session.availability_labels = [
            c.param for c in checks if c.family == "availability" and c.param
        ]
        redact = session.redactor.redact
        with console.status("starting") as status:

            def started(check: Any) -> None:
                status.update(f"{check.round}: {escape(redact(check.name))}")

            def done(result: CheckResult) -> None:
                mark = "[green]pass[/]" if result.passed else "[red]FAIL[/]"
                console.print(
                    f"  {mark} {result.check.round} {escape(redact(result.check.name))} "
                    f"[dim]{result.seconds:.2f}s[/]"
                )

            rounds = run_rounds(
                checks, session, stop_on_failure=not keep_going, on_start=started, on_done=done
            )
    table = Table(title="pre-deploy", show_lines=False)
    for column in ("round", "checks", "passed", "failed", "result"):
        table.add_column(column)
    for round_result in rounds:
        failed = [r for r in round_result.results if not r.passed]
        table.add_row(
            f"{round_result.name}: {ROUNDS[round_result.name].split(': ', 1)[1]}",
            str(len(round_result.results)),
            str(len(round_result.results) - len(failed)),
            str(len(failed)),
            "[green]pass[/]" if not failed else "[red]FAIL[/]",
        )
    console.print(table)
    problems = [r for rr in rounds for r in rr.results if not r.passed]
    for result in problems:
        console.print(f"[red]{result.check.round} {escape(redact(result.check.name))}[/]")
        for finding in result.errors:
            console.print(f"  {redact(str(finding))}", markup=False)
    skipped = [name for name in ROUNDS if name not in {r.name for r in rounds}]
    if problems and skipped:
        console.print(f"stopped after the first failing round; not run: {', '.join(skipped)}")
    sys.exit(EXIT_FAILED if problems else 0)


@main.command()
@config_option
@service_option
@click.option("--deploy-id", help="The deployment to report on (default: the latest).")
@click.option("--json", "json_path", metavar="PATH", help="Write the JSON report ('-': stdout).")
@click.option(
    "--markdown",
    "markdown",
    is_flag=True,
    help="Print Markdown, and append it to $GITHUB_STEP_SUMMARY when that is set.",
)
@click.option("--html", "html_path", metavar="PATH", help="Write the self-contained HTML report.")
@click.option(
    "--fail-on-verdict",
    type=click.Choice(["fail", "warn"]),
    is_flag=False,
    flag_value="fail",
    default=None,
    help="Exit with 1 when the deployment's verdict is fail (=warn: warn or fail).",
)
@handle_errors
def report(
    config_path: Path,
    service: str | None,
    deploy_id: str | None,
    json_path: str | None,
    markdown: bool,
    html_path: str | None,
    fail_on_verdict: str | None,
) -> None:
    """The three analyses: this deployment, against the previous one, the last 10."""
    import os

    from pytest_deploycheck.reports.html import render_html
    from pytest_deploycheck.reports.jsondoc import render_json
    from pytest_deploycheck.reports.markdown import render_markdown
    from pytest_deploycheck.reports.terminal import render_terminal
    from pytest_deploycheck.score.analysis import analyse_store
    from pytest_deploycheck.score.scoring import ScoringSettings, Verdict

    with _session(config_path, history_only=True, service=service) as session:
        redact = session.redactor.redact
        settings = ScoringSettings.from_config(session.section("scoring"))
        store = session.history()
        _known_service(store, service)
        # a named deployment brings its own service, unless --service says otherwise
        of = service if deploy_id is not None else session.service_name
        analysis = analyse_store(store, settings, deploy_id=deploy_id, service=of)
    console = _console()
    if json_path == "-":
        click.echo(render_json(analysis, redact=redact), nl=False)
    elif markdown:
        text = render_markdown(analysis, redact=redact)
        click.echo(text)
        summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if summary:
            _write(summary, text + "\n", append=True)
    else:
        # a CI log or a file is no terminal: every column whole, the lines as long as needed
        width = console.width if console.is_terminal else None
        click.echo(
            render_terminal(analysis, redact=redact, width=width, color=console.is_terminal),
            nl=False,
        )
    if json_path and json_path != "-":
        _write(json_path, render_json(analysis, redact=redact))
        click.echo(f"wrote {json_path}", err=True)
    if html_path:
        _write(html_path, render_html(analysis, redact=redact))
        click.echo(f"wrote {html_path}", err=True)
    if fail_on_verdict and analysis.score.verdict.at_least(Verdict(fail_on_verdict)):
        sys.exit(EXIT_FAILED)


deploy_id_option = click.option(
    "--deploy-id", help="The deployment (default: the CI commit variable, else git HEAD)."
)


@main.command()
@config_option
@base_url_option
@deploy_id_option
@service_option
@click.option("--quick", is_flag=True, help="One round now instead of the configured rounds.")
@handle_errors
def collect(
    config_path: Path, base_url: str | None, deploy_id: str | None, service: str | None, quick: bool
) -> None:
    """Probe availability and latency in rounds after the deploy (0s, 5m, 15m)."""
    from pytest_deploycheck.after.collect import RichCollectProgress, run_collect

    console = _console()
    with (
        _session(config_path, base_url, deploy_id, service=service) as session,
        RichCollectProgress(console) as progress,
    ):
        result = run_collect(session, session.history(), quick=quick, progress=progress)
    console.print(result.describe())
    sys.exit(result.exit_code)


@main.command(cls=MonitorCommand)
@config_option
@base_url_option
@deploy_id_option
@service_option
@click.option("--watch", is_flag=True, help="Every 30 s for 60 min (monitor.watch).")
@click.option("--interval", metavar="DURATION", help="Time between probe rounds, e.g. 30s.")
@click.option("--duration", metavar="DURATION", help="How long to monitor, e.g. 30m.")
@click.option(
    "--metrics-port", type=int, help="Serve Prometheus metrics on this port (0: any free port)."
)
@click.option("--metrics-address", default="127.0.0.1", show_default=True)
@click.option("-v", "--verbose", is_flag=True, help="Print every round, not only changes.")
@exit_on_error(EXIT_MONITOR_ERROR, internal=EXIT_MONITOR_ERROR)
def monitor(
    config_path: Path,
    base_url: str | None,
    deploy_id: str | None,
    service: str | None,
    watch: bool,
    interval: str | None,
    duration: str | None,
    metrics_port: int | None,
    metrics_address: str,
    verbose: bool,
) -> None:
    """Probe health and operations; escalate alerts 1 warning, 2 elevated, 3 critical.

    Exits with the highest alert level reached (0 when none), 4 when it could not run.
    """
    from pytest_deploycheck.after.monitor import RichMonitorReporter, run_monitor

    console = _console()
    with (
        _session(config_path, base_url, deploy_id, service=service) as session,
        RichMonitorReporter(console, every_round=verbose) as reporter,
    ):
        result = run_monitor(
            session,
            session.history(),
            watch=watch,
            interval=interval,
            duration=duration,
            metrics_port=metrics_port,
            metrics_address=metrics_address,
            reporter=reporter,
            on_metrics=lambda server: console.print(f"metrics: {server.url}"),
        )
    console.print(result.describe(), markup=False)
    sys.exit(result.exit_code)


@main.command()
@config_option
@base_url_option
@deploy_id_option
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--dry-run", is_flag=True, help="Show the command and environment names only.")
@handle_errors
def rollback(
    config_path: Path, base_url: str | None, deploy_id: str | None, yes: bool, dry_run: bool
) -> None:
    """Run rollback.command (no shell), record it, then check health."""
    from pytest_deploycheck.after.rollback import run_rollback

    console = _console()
    with _session(config_path, base_url, deploy_id) as session:
        outcome = run_rollback(
            session,
            None if dry_run else session.history(),
            yes=yes,
            dry_run=dry_run,
            confirm=lambda prompt: click.confirm(prompt, default=False),
        )
    described = outcome.describe(session.redactor.redact)
    console.print(described, markup=False, style=None if outcome.ok else "bold red")
    sys.exit(outcome.exit_code)


@main.group(invoke_without_command=True)
@config_option
@service_option
@click.option("--limit", default=20, show_default=True, help="How many deployments to list.")
@click.pass_context
@handle_errors
def history(ctx: click.Context, config_path: Path, service: str | None, limit: int) -> None:
    """List stored deployments, newest first (`history show ID` for one)."""
    ctx.obj = config_path
    if ctx.invoked_subcommand is not None:
        return
    from rich.table import Table

    from pytest_deploycheck.score.analysis import score_deployment
    from pytest_deploycheck.score.scoring import ScoringSettings

    with _session(config_path, history_only=True, service=service) as session:
        redact = session.redactor.redact
        store = session.history()
        _known_service(store, service)
        services = store.services()
        name = session.service_name
        settings = ScoringSettings.from_config(session.section("scoring"))
        deployments = store.deployments(limit, service=name)
        runs = store.runs_of([d.id for d in deployments])
        # scored as `report` scores them: every run and collect round of a deployment merged
        results = store.load_results([d.id for d in deployments if runs.get(d.id)])
    several = len(services) > 1
    of = f" of {redact(name)}" if several else ""
    table = Table(title=f"deployments{of} ({len(deployments)} shown)")
    if several:
        table.caption = f"the history holds {', '.join(services)}: --service NAME picks one"
    columns = ("deployment", "created", "environment", "runs", "score", "verdict")
    for column in (*columns[:1], "service", *columns[1:]) if several else columns:
        table.add_column(column)
    for deployment in deployments:
        result = results.get(deployment.id)
        score = score_deployment(deployment, result, settings).score if result else None
        named = [redact(deployment.service or "-")] if several else []
        table.add_row(
            redact(deployment.id),
            *named,
            deployment.created_at.strftime("%Y-%m-%d %H:%M"),
            redact(deployment.environment or ""),
            str(len(runs.get(deployment.id, []))),
            f"{score.score:.1f}" if score else "-",
            score.verdict.value if score else "-",
        )
    _console().print(table)


@history.command("show")
@click.argument("deploy_id")
@click.pass_obj
@handle_errors
def history_show(config_path: Path, deploy_id: str) -> None:
    """Show one stored deployment: its runs, components and verdicts."""
    from rich.table import Table

    with _session(config_path, history_only=True) as session:
        redact = session.redactor.redact
        deployment = session.history().deployment(deploy_id)
        stored = session.history().runs(deploy_id)
    console = _console()
    console.print(f"deployment {redact(deployment.id)}", markup=False)
    for label, value in (
        ("created", deployment.created_at.isoformat()),
        ("commit", deployment.commit),
        ("branch", deployment.branch),
        ("environment", deployment.environment),
    ):
        if value:
            console.print(f"  {label}: {redact(str(value))}", markup=False)
    table = Table()
    for column in ("run", "phase", "round", "operations", "score", "verdict", "components"):
        table.add_column(column)
    for run in stored:
        parts = ", ".join(f"{k} {v:.1f}" for k, v in run.components.items() if v is not None)
        table.add_row(
            str(run.id),
            run.result.phase,
            str(run.result.round or "-"),
            str(len(run.result.operations)),
            f"{run.score:.1f}" if run.score is not None else "-",
            run.verdict or "-",
            parts,
        )
    console.print(table)


@main.command()
@click.argument(
    "root", required=False, default=".", type=click.Path(path_type=Path, file_okay=False)
)
@click.option("--force", is_flag=True, help="Replace an existing deployment-config.json.")
@click.option(
    "--schema",
    "schema_choice",
    type=click.Choice(["auto", "path", "url"]),
    default="auto",
    show_default=True,
    help="What $schema names: the installed schema's relative path (auto: when the package "
    "lies inside ROOT, else a copy written to .deploycheck/, as `deploycheck schema --write` "
    "does), or the published URL.",
)
@click.option("--no-lock", is_flag=True, help="Do not record existing migrations as deployed.")
@handle_errors
def init(root: Path, force: bool, schema_choice: str, no_lock: bool) -> None:
    """Write a starting deployment-config.json for the API repository at ROOT."""
    from .init import SchemaChoice, init_project

    result = init_project(
        root,
        force=force,
        schema=cast(SchemaChoice, schema_choice),
        lock_migrations=not no_lock,
    )
    click.echo(result.explanation)


@main.command("self-test")
@click.option(
    "--family",
    "families",
    multiple=True,
    metavar="NAME",
    help="Only this check family; repeat for more (default: every family).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the cases and the verdict as JSON.")
@handle_errors
def self_test(families: tuple[str, ...], as_json: bool) -> None:
    """Run every check family against its shipped known-good and known-bad fixtures."""
    from .selftest import render_json, render_self_test, run_self_test, self_test_passed

    with _console(stderr=True).status("self-test: running every check on its fixtures"):
        cases = run_self_test(families or None)
    if as_json:
        click.echo(render_json(cases))
    else:
        console = _console()
        width = console.width if console.is_terminal else 120  # CI logs are not 80 wide
        click.echo(render_self_test(cases, width=width, color=console.is_terminal), nl=False)
    sys.exit(0 if self_test_passed(cases) else EXIT_FAILED)


@main.group()
def migrations() -> None:
    """Manage the migrations lock file (Flyway-style checksums)."""


@migrations.command("lock")
@config_option
@click.option("--force", is_flag=True, help="Rewrite even over edited or removed migrations.")
@handle_errors
def migrations_lock(config_path: Path, force: bool) -> None:
    """Record the checksums of the current migrations as released."""
    from pytest_deploycheck.phase1.migrations import write_lock

    with _session(config_path) as session:
        path = write_lock(session.section("migrations"), session.root, force=force)
    click.echo(f"wrote {path}")


if __name__ == "__main__":  # pragma: no cover
    main()
