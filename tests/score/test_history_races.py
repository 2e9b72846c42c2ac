"""The history store on a real PostgreSQL server under concurrent writers: first saves of the
same alert keys, and runs saved while other writers prune old deployments."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from pytest_deploycheck.score.history import HistoryStore, deployments_table, runs_table
from tests.postgres_server import fresh_schema, postgres_url  # noqa: F401 (a fixture)
from tests.processes import run_together

ROOT = Path(__file__).resolve().parents[2]
WORKERS, KEYS, EVERY, KEEP = 8, 200, 25, 4
RUNS = KEYS // EVERY  # runs saved by each worker, two each time

WORKER = textwrap.dedent(
    """
    import json, sys
    from datetime import UTC, datetime, timedelta
    import sqlalchemy as sa
    from pytest_deploycheck.score.history import AlertState, HistoryStore, runs_table
    from pytest_deploycheck.score.results import RunResult

    url, worker, keys, every, keep = sys.argv[1], *map(int, sys.argv[2:])
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    saved = []
    with HistoryStore.open(url, keep=keep) as store:
        print("ready", flush=True)
        sys.stdin.readline()  # a barrier: every worker connected before any writes
        for key in range(keys):
            # every worker saves every key, in the same order: all race for its first save
            store.save_alert_state(
                AlertState(f"probe-{key}", level=3, consecutive_failures=worker + 1,
                           message=f"from worker {worker}")
            )
            if key % every:
                continue
            number = key // every
            # a new deployment of its own (which prunes), then one all workers share, which
            # other workers' pruning is deleting meanwhile
            for deploy_id in (f"w{worker}-{number}", f"shared-{number // 3}"):
                run = RunResult(deploy_id, "phase3", t0, t0 + timedelta(seconds=1))
                run.record("GET /x", True, float(worker))
                run_id = store.save_run(run)
                with store.engine.connect() as conn:
                    seq = conn.execute(
                        sa.select(runs_table.c.deployment_seq).where(runs_table.c.id == run_id)
                    ).scalar_one_or_none()
                saved.append([run_id, seq])
    print(json.dumps(saved))
    """
)


# A pause before each insert of an alert state or a run and each delete of a deployment
# widens the windows in which writers race, so a race the store does not handle shows up in
# every run of this test, not in one of ten.
PAUSES = """
CREATE FUNCTION deploycheck_test_pause() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_sleep(0.001);
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER pause BEFORE INSERT ON deploycheck_alert_state
    FOR EACH ROW EXECUTE FUNCTION deploycheck_test_pause();
CREATE TRIGGER pause BEFORE INSERT ON deploycheck_runs
    FOR EACH ROW EXECUTE FUNCTION deploycheck_test_pause();
CREATE TRIGGER pause BEFORE DELETE ON deploycheck_deployments
    FOR EACH ROW EXECUTE FUNCTION deploycheck_test_pause();
"""


@pytest.fixture
def pg_store_url(postgres_url: str) -> Iterator[str]:  # noqa: F811 (the fixture above)
    with fresh_schema(postgres_url) as url:
        with HistoryStore.open(url, keep=KEEP) as store, store.engine.begin() as conn:
            conn.exec_driver_sql(PAUSES)  # the schema, once, as a CI job's first step would
        yield url


def test_concurrent_first_saves_and_pruning_lose_nothing(pg_store_url: str) -> None:
    args = [str(KEYS), str(EVERY), str(KEEP)]
    finished = run_together(
        WORKER, [[pg_store_url, str(worker), *args] for worker in range(WORKERS)]
    )
    errors = [f.stderr for f in finished if f.stderr.strip()]
    assert [f.returncode for f in finished] == [0] * WORKERS, errors
    assert errors == []

    with HistoryStore.open(pg_store_url, keep=KEEP) as store:
        states = store.alert_states()
        assert len(states) == KEYS
        for state in states:
            # each row is one worker's whole save, never a mix of two
            assert state.message == f"from worker {state.consecutive_failures - 1}"
        with store.engine.connect() as conn:
            query = sa.select(runs_table.c.id, runs_table.c.deployment_seq)
            stored = {row.id: row.deployment_seq for row in conn.execute(query)}
            present = set(conn.execute(sa.select(deployments_table.c.seq)).scalars())
    saved = [entry for f in finished for entry in json.loads(f.stdout.splitlines()[-1])]
    assert len(saved) == WORKERS * RUNS * 2
    # a run is gone only with its deployment: where the deployment is kept, so is every run
    # saved to it, and nothing is stored that no writer saved
    for run_id, seq in saved:
        if seq is not None and seq in present:
            assert stored.get(run_id) == seq, (run_id, seq)
    assert set(stored) <= {run_id for run_id, _ in saved}
    assert all(seq in present for seq in stored.values())
    # the race was run: most deployments were pruned while the writers wrote
    assert len(present) < WORKERS * RUNS // 2
