"""Issue 12 item 8: a file's own SET does not leak into the next migration (no server).

Checked first: `schedule` already re-establishes the run's bounds at the start of every migration's
transaction (`SET LOCAL`, which nothing before can loosen), and the dry run shows it; and the executor
checks the session after every statement (`Executor._check_session`), so a migration that changes a bound
fails inside its own transaction (tests/test_adversarial_e2e.py: statement_timeout_turned_off_then_sleep).
"""

from __future__ import annotations

from pgrunbook.config import MigratePolicy
from pgrunbook.drizzle.plan import MigrationPlan, PlannedMigration
from pgrunbook.executor import Step
from pgrunbook.schedule import BEGIN, plan_sql, schedule

POLICY = MigratePolicy(lock_timeout="5s", statement_timeout="30min", concurrent_statement_timeout="4h",
                       idle_in_transaction_timeout="1min")
BOUNDS = ["SET LOCAL lock_timeout = '5s'", "SET LOCAL statement_timeout = '30min'"]


def test_every_migration_starts_with_the_bounds_again_after_a_file_that_sets_lock_timeout_0():
    first, second = (PlannedMigration(t, w, f"hash-{t}", "apply") for t, w in (("0001_a", 1), ("0002_b", 2)))
    compiled = {"0001_a": (Step("0001_a", "SET lock_timeout = 0", 1, True), Step("0001_a", "CREATE TABLE a (x int)", 3, True)),
                "0002_b": (Step("0002_b", "ALTER TABLE a ADD y int", 1, True),)}
    plan = MigrationPlan("A", False, (first, second))
    units = schedule(plan, compiled, POLICY)[1:]
    for unit in units:
        assert [s.sql for s in unit.statements][:3] == [BEGIN, *BOUNDS], unit.label
    sql = plan_sql(plan, compiled, POLICY)
    later = sql[sql.index("ALTER TABLE a ADD y int") - 400: sql.index("ALTER TABLE a ADD y int")]
    assert all(bound in later for bound in BOUNDS)  # shown in `inv analyze --sql` before the second migration
