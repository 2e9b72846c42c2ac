"""One run of the gate: its config, spec, target and shared results.

The pytest plugin registers one ``DeployCheckSession`` per run; the CLI builds one too. Every
check reaches the config, the spec and the service through it, so the local service is
started at most once and the availability sweep is shared by its items.
"""

from __future__ import annotations

import asyncio
import gc
import os
import socket
from collections.abc import Collection, Iterable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_deploycheck.core.config import Config, LocalTarget, load_config
from pytest_deploycheck.core.effects import Effect, effect_of
from pytest_deploycheck.core.errors import CheckSkipped, HistoryError, TargetError
from pytest_deploycheck.core.findings import Finding, failures
from pytest_deploycheck.core.redaction import Redactor
from pytest_deploycheck.core.spec import Operation, Spec, load_spec
from pytest_deploycheck.core.units import parse_duration

if TYPE_CHECKING:
    # imported where used: collecting the items of a big spec needs none of the network
    # code, and every pytest run would pay for it (httpx alone is a tenth of a second)
    import httpx

    from pytest_deploycheck.core.bounds import Bounds
    from pytest_deploycheck.live.availability import ProbeResult
    from pytest_deploycheck.live.disposable import Disposable, ExampleKeeper
    from pytest_deploycheck.live.probes import ProbeRequest
    from pytest_deploycheck.live.target import LocalService
    from pytest_deploycheck.score.history import Deployment, HistoryStore

__all__ = ["DeployCheckSession", "shortest_path"]


@dataclass
class DeployCheckSession:
    """Lazily loaded config, spec and target, shared by every check of one run."""

    config_path: Path
    base_url_option: str | None = None
    deploy_id: str | None = None
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    # --deploycheck-no-history: measure and score, but write nothing to the history
    store_history: bool = True
    # the sections whose ${VAR} must be set (None: all); see config.HISTORY_SECTIONS
    sections: Collection[str] | None = None
    # --service: the service whose history to read and write (default: service.name)
    service: str | None = None
    # a live check failed: before the next long one, see whether the target still listens
    target_suspect: bool = False
    _config: Config | None = field(default=None, init=False, repr=False)
    _spec: Spec | None = field(default=None, init=False, repr=False)
    _local: LocalService | None = field(default=None, init=False, repr=False)
    _local_url: str = field(default="", init=False, repr=False)
    _local_error: TargetError | None = field(default=None, init=False, repr=False)
    _no_local_said: bool = field(default=False, init=False, repr=False)
    _availability: dict[tuple[str, str], ProbeResult] = field(
        default_factory=dict, init=False, repr=False
    )
    _examples: ExampleKeeper | None = field(default=None, init=False, repr=False)
    _deployment_id: str | None = field(default=None, init=False, repr=False)
    _redactor: Redactor | None = field(default=None, init=False, repr=False)
    _history: HistoryStore | None = field(default=None, init=False, repr=False)
    availability_labels: list[str] = field(default_factory=list)
    # sizes the bundle check measured, stored with the run's history
    bundle_sizes: dict[str, int] = field(default_factory=dict)
    # what each family's prepare command gave, so it runs once however many items it serves
    _prepared: dict[str, list[Finding]] = field(default_factory=dict, init=False, repr=False)

    @property
    def config(self) -> Config:
        """The validated config; raises ConfigError listing every problem."""
        if self._config is None:
            self._config = load_config(self.config_path, self.environ, sections=self.sections)
        return self._config

    @property
    def spec(self) -> Spec:
        """The OpenAPI document named by the config; raises SpecError."""
        if self._spec is None:
            self._spec = load_spec(shortest_path(self.config.spec_path))
            # the document lives as long as the run: moved out of the cyclic collector's
            # way, it is not walked again at every full collection (seconds on a large spec)
            gc.freeze()
        return self._spec

    @property
    def root(self) -> Path:
        return self.config.root

    @property
    def redactor(self) -> Redactor:
        if self._redactor is None:
            self._redactor = Redactor(self.config.secrets)
        return self._redactor

    def mask(self, text: str) -> str:
        """``text`` with this run's secrets masked once the config is loaded, unchanged
        before (no secret has been read yet). Never loads anything, so log records can go
        through it at any time."""
        if self._redactor is None:
            if self._config is None:
                return text
            self._redactor = Redactor(self._config.secrets)
        return self._redactor.redact(text)

    @property
    def service_name(self) -> str:
        """The service this run is about: ``--service``, else the config's service.name."""
        return self.service or self.config.service_name

    @property
    def deployment_id(self) -> str:
        """``--deploy-id``, else the CI commit variable, else ``git rev-parse HEAD``."""
        if self._deployment_id is None:
            from pytest_deploycheck.score.history import resolve_deploy_id

            self._deployment_id = resolve_deploy_id(self.deploy_id, self.environ, self.root)
        return self._deployment_id

    def history(self) -> HistoryStore:
        """The configured history store, opened once per session."""
        if self._history is None:
            from pytest_deploycheck.score.history import HistoryStore

            self._history = HistoryStore.from_config(
                self.section("history"), self.root, redact=self.redactor.redact
            )
        return self._history

    def previous_bundle_sizes(self) -> dict[str, int] | None:
        """The artifact sizes of the deployment before this one, for the growth check."""
        try:
            return self.history().previous_bundle_sizes(self.deployment_id) or None
        except HistoryError:
            return None  # without a readable history there is nothing to grow from

    def deployment_record(self) -> Deployment:
        """This deployment as the history stores it: id, commit, branch, environment."""
        from pytest_deploycheck.score.history import describe_deployment

        config = self.config
        return describe_deployment(
            self.deployment_id,
            self.environ,
            config.root,
            environment=config.environment,
            service=self.service_name,
        )

    def record_bundle_sizes(self, sizes: Mapping[str, int]) -> None:
        """Store this deployment's artifact sizes for the next growth check."""
        self.bundle_sizes.update(sizes)
        if sizes and self.store_history:
            store = self.history()
            store.record_deployment(self.deployment_record())
            store.record_bundle_sizes(self.deployment_id, sizes)

    def section(self, name: str) -> Mapping[str, Any]:
        return self.config.section(name)

    def prepare(self, family: str) -> list[Finding]:
        """Run the family's ``prepare`` command once per session; what it found (or nothing)."""
        if family in self._prepared:
            return self._prepared[family]
        from pytest_deploycheck.phase1.prepare import parse_prepare, run_prepare

        command = parse_prepare(family, self.section(family))
        findings = [] if command is None else run_prepare(command, self.root, environ=self.environ)
        # the first check shows how the command went; the others only that it failed
        self._prepared[family] = failures(findings)
        return findings

    def operation(self, label: str) -> Operation:
        for operation in self.spec.operations:
            if operation.label == label:
                return operation
        raise KeyError(label)

    # -- the target ------------------------------------------------------------------------

    @property
    def remote_base_url(self) -> str | None:
        """The deployed target: the option, then $DEPLOYCHECK_BASE_URL, then the config."""
        return (
            self.base_url_option
            or self.environ.get("DEPLOYCHECK_BASE_URL")
            or self.config.base_url
            or None
        )

    @property
    def is_local(self) -> bool:
        return self.remote_base_url is None

    def base_url(self) -> str:
        """Where phase2 and phase3 send requests: the target, or the local service."""
        return self.remote_base_url or self.local_base_url()

    def local_base_url(self) -> str:
        """Start ``target.local.command`` once and return its URL (phase1 round 3 uses it)."""
        if self._local_error is not None:
            raise TargetError(
                "the local service could not be started; see the first failure for its output"
            )
        if self._local is None:
            local = self.config.local
            if local is None:
                if self._no_local_said:
                    # said once, by the first item that needed it; the others are skipped
                    raise CheckSkipped(
                        "no local service to check: target.local.command is not set "
                        "(see the first failure)"
                    )
                self._no_local_said = True
                raise TargetError(
                    "no target: pass --deploycheck-base-url URL (or set DEPLOYCHECK_BASE_URL), "
                    "or set target.local.command in the config to start the service locally"
                )
            from pytest_deploycheck.live.target import LocalService

            service = LocalService(
                command=local.command,
                cwd=local.cwd,
                env=local.env,
                ready_path=self._base_path(local) + local.ready_path,
                ready_timeout=local.ready_timeout,
            )
            try:
                service.start()
            except TargetError as exc:
                self._local_error = exc
                raise
            self._local = service
            self._local_url = service.base_url + self._base_path(local)
        return self._local_url

    def target_refusal(self, base_url: str) -> str | None:
        """Why nothing at ``base_url`` accepts connections any more, or None when something
        does (or a proxy stands between: only the proxy could tell)."""
        import httpx

        from pytest_deploycheck.core.wire import environment_proxy

        url = httpx.URL(base_url)
        if environment_proxy(url) is not None:
            return None
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            socket.create_connection((url.host, port), timeout=min(self.timeout, 3.0)).close()
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            return (
                f"the target {url.host}:{port} no longer accepts connections ({reason}), so "
                "the check was not run; the first failure above shows when it stopped"
            )
        return None

    def _base_path(self, local: LocalTarget) -> str:
        """The path the local service serves the API under: ``target.local.base_path``, else
        the spec's first server URL when it is a path (``servers: [{url: /api}]``)."""
        path = relative_server_path(self.spec) if local.base_path is None else local.base_path
        return path.rstrip("/")

    @property
    def timeout(self) -> float:
        return self.config.timeout

    @property
    def bounds(self) -> Bounds:
        """What one request may take: ``target.timeout``, ``max_body``, ``max_redirects``."""
        return self.config.bounds

    def client(self, base_url: str | None = None) -> httpx.Client:
        """A client bound to the target, with the configured headers, every request within
        the target's bounds."""
        from pytest_deploycheck.core.bounds import bounded_client

        return bounded_client(
            base_url or self.base_url(),
            self.bounds,
            headers=self.config.headers,
            verify=self.config.verify_tls,
        )

    def async_client(
        self, base_url: str | None = None, *, bounds: Bounds | None = None, **limits: int
    ) -> httpx.AsyncClient:
        import httpx

        from pytest_deploycheck.core.bounds import bounded_async_client

        pool = httpx.Limits(
            max_connections=limits.get("max_connections", 100),
            max_keepalive_connections=limits.get("max_keepalive", 20),
        )
        return bounded_async_client(
            base_url or self.base_url(),
            bounds or self.bounds,
            headers=self.config.headers,
            verify=self.config.verify_tls,
            limits=pool,
        )

    # -- availability ----------------------------------------------------------------------

    def probe_request(self, operation: Operation, spec: Spec | None = None) -> ProbeRequest:
        from pytest_deploycheck.live.probes import build_probe

        overrides = self.section("availability").get("parameters") or {}
        return build_probe(spec or self.spec, operation, overrides)

    @property
    def examples(self) -> ExampleKeeper:
        """What keeps the spec's example resources there (see ``live.disposable``)."""
        if self._examples is None:
            from pytest_deploycheck.live.disposable import ExampleKeeper

            fixed = frozenset(self.section("availability").get("parameters") or {})
            self._examples = ExampleKeeper(
                self.spec, lambda spec, op: self.probe_request(op, spec), fixed
            )
        return self._examples

    def live_spec(self, base_url: str) -> Spec:
        """The spec to build ``base_url``'s requests from: the repository's, or a copy naming
        example resources recreated after a check deleted them."""
        with self.client(base_url) as client:
            return self.examples.spec_for(client)

    def own_resource(self, label: str, base_url: str) -> Disposable | str | None:
        """For an operation that deletes what another creates (``DELETE /items/{id}``), a
        resource created for it now (or why none could be); None for any other operation,
        and where ``availability.parameters`` names the resource itself."""
        if self.examples.deleting(label) is None:
            if effect_of(self.operation(label)) is Effect.DELETE:
                # it resets data, or has nothing to create what it deletes
                self.examples.may_have_deleted(base_url)
            return None
        from pytest_deploycheck.live.disposable import Disposable

        with self.client(base_url) as client:
            own = self.examples.own_resource(client, label)
        if not isinstance(own, Disposable):
            self.examples.may_have_deleted(base_url)  # it will run on the examples
        return own

    def availability(self, label: str, base_url: str) -> ProbeResult:
        """The probe of ``label`` at ``base_url``; the first call sweeps every selected one.

        Operations that delete are probed after the others, each on a resource created
        for it, so the sweep never removes what another probe reads.
        """
        if (base_url, label) not in self._availability:
            pending = [
                x for x in self.availability_labels if (base_url, x) not in self._availability
            ]
            if label not in pending:
                pending.append(label)
            deleting = [x for x in pending if effect_of(self.operation(x)) is Effect.DELETE]
            for wave in ([x for x in pending if x not in deleting], deleting):
                for name, result in self._sweep(wave, base_url).items():
                    self._availability[base_url, name] = result
        return self._availability[base_url, label]

    def _probe(self, label: str, base_url: str, spec: Spec) -> ProbeRequest:
        from pytest_deploycheck.live.disposable import Disposable
        from pytest_deploycheck.live.probes import build_probe

        operation = next(op for op in spec.operations if op.label == label)
        own = self.own_resource(label, base_url)
        if not isinstance(own, Disposable):
            return self.probe_request(operation, spec)
        overrides = {**(self.section("availability").get("parameters") or {})}
        overrides[own.parameter] = own.value
        return build_probe(spec, operation, overrides)

    def _sweep(self, labels: Iterable[str], base_url: str) -> dict[str, ProbeResult]:
        labels = list(labels)
        if not labels:
            return {}
        spec = self.live_spec(base_url)
        requests = {label: self._probe(label, base_url, spec) for label in labels}
        section = self.section("availability")
        timeout = parse_duration(section.get("timeout", self.timeout))
        concurrency = int(section.get("concurrency", 50))
        from pytest_deploycheck.live.availability import shard_count, sweep

        shards = shard_count(concurrency)
        per_client = -(-concurrency // shards)

        bounds = self.bounds.with_timeout(timeout)

        async def run() -> dict[str, ProbeResult]:
            async with AsyncExitStack() as stack:
                clients = []
                for _ in range(shards):
                    client = self.async_client(
                        base_url,
                        bounds=bounds,
                        max_connections=per_client,
                        max_keepalive=per_client,
                    )
                    clients.append(await stack.enter_async_context(client))
                return await sweep(clients, requests, concurrency=concurrency, timeout=timeout)

        return asyncio.run(run())

    def close(self) -> None:
        """Stop the local service if this session started one; close the history."""
        if self._local is not None:
            self._local.stop()
            self._local = None
        if self._history is not None:
            self._history.close()
            self._history = None


def shortest_path(path: Path) -> Path:
    """``path`` relative to the working directory when it lies below it: messages read better."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def relative_server_path(spec: Spec) -> str:
    """The first server URL of ``spec`` when it is a path such as ``/api`` (relative to where
    the document is served, so to the running service), else "". An absolute URL's path
    describes the deployment, where a gateway may add it, so it says nothing of the service."""
    servers = spec.document.get("servers")
    first = servers[0] if isinstance(servers, list) and servers else None
    url = first.get("url") if isinstance(first, Mapping) else None
    return url if isinstance(url, str) and url.startswith("/") else ""
