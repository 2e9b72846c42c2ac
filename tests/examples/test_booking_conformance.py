"""The service conforms to its spec, as schemathesis judges it with all its default checks.

In process: every operation fuzzed with positive and negative data, and the stateful state
machine over the spec's links. ``test_booking_st_run.py`` runs the command line against a real
server.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode

from examples.booking_api.app import create_app
from examples.booking_api.settings import DEFAULT_SPEC, Settings

# Deterministic, so a failure here reproduces; modest, so the file stays fast.
FUZZ_SETTINGS = settings(
    max_examples=10,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(scope="module")
def schema() -> Any:
    schema = schemathesis.openapi.from_path(DEFAULT_SPEC)
    schema.app = create_app(Settings())  # calls go to the app in process
    return schema


LABELS = [
    f"{method.upper()} {path}"
    for path, item in schemathesis.openapi.from_path(DEFAULT_SPEC).raw_schema["paths"].items()
    for method in item
    if method != "parameters"
]


def test_every_operation_is_tested(schema: Any) -> None:
    assert sorted(result.ok().label for result in schema.get_all_operations()) == sorted(LABELS)
    assert len(LABELS) == 11


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
@pytest.mark.parametrize("label", LABELS)
def test_operation_conforms(schema: Any, label: str, mode: GenerationMode) -> None:
    method, path = label.split(" ", 1)
    operation = schema[path][method]
    if mode is GenerationMode.NEGATIVE and not (
        list(operation.iter_parameters()) or operation.body
    ):
        # Nothing to make invalid: the operation takes no input. Its positive run covers it.
        assert method == "GET"
        return

    @FUZZ_SETTINGS
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case: Any) -> None:
        case.call_and_validate()

    check()


@pytest.mark.parametrize(
    ("fault", "label", "mode", "failure"),
    [
        ("accept_invalid", "POST /appointments", GenerationMode.NEGATIVE, "AcceptedNegativeData"),
        ("server_error", "GET /providers", GenerationMode.POSITIVE, "ServerError"),
    ],
)
def test_the_same_run_catches_a_broken_service(
    fault: str, label: str, mode: GenerationMode, failure: str
) -> None:
    schema = schemathesis.openapi.from_path(DEFAULT_SPEC)
    schema.app = create_app(Settings(faults=frozenset({fault})))
    method, path = label.split(" ", 1)

    @FUZZ_SETTINGS
    @given(case=schema[path][method].as_strategy(generation_mode=mode))
    def check(case: Any) -> None:
        case.call_and_validate()

    with pytest.raises(BaseExceptionGroup) as raised:
        check()
    assert failure in {type(error).__name__ for error in raised.value.exceptions}


class FreshService:
    """An ASGI app whose service can be replaced by a fresh one between examples."""

    def __init__(self) -> None:
        self.renew()

    def renew(self) -> None:
        self.app = create_app(Settings())

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


def test_the_stateful_run_follows_the_spec_links() -> None:
    schema = schemathesis.openapi.from_path(DEFAULT_SPEC)
    service = FreshService()
    schema.app = service
    followed: list[tuple[str, int | None]] = []

    class Recording(schema.as_state_machine()):  # type: ignore[misc]
        def __init__(self) -> None:
            # a fresh service per example: Hypothesis checks that the same choices draw the
            # same data, which a service remembering the last example's bookings breaks
            service.renew()
            super().__init__()

        def step(self, input: Any) -> Any:
            output = super().step(input)
            if input.transition is not None:
                followed.append((input.transition.id, output.response.status_code))
            return output

    Recording.run(
        settings=settings(
            max_examples=25,
            derandomize=True,
            database=None,
            deadline=None,
            stateful_step_count=8,
            suppress_health_check=list(HealthCheck),
            # the service keeps its state between examples, so replaying one (to reuse or
            # explain it) can draw differently: generate only
            phases=[Phase.generate],
        )
    )
    # Transition ids name the link: "POST /providers -> [201] ListProviderSlots -> GET ...".
    # Which links Hypothesis walks varies with the run; that the spec's links carry real
    # values from one answer into the next request does not: some must have succeeded.
    succeeded = {
        t.split(" -> ")[1].split("] ")[1] for t, status in followed if status and status < 300
    }
    spec_links = {
        "GetProvider",
        "ListProviderSlots",
        "BookWithProvider",
        "BookFirstSlot",
        "GetAppointment",
        "RescheduleAppointment",
        "CancelAppointment",
    }
    assert succeeded & spec_links, followed
