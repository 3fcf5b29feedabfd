"""facts.protected_total: the run's observation of protected rows, in one statement, equal to protected_counts' total."""

from __future__ import annotations

import pytest

from pgrunbook.config import Expectations, RoleCount
from pgrunbook.facts import protected_counts, protected_total


def _sum(counts: dict) -> int:
    return (counts["users_by_role"]["total"] or 0) + sum(counts["tables"].values())


@pytest.mark.parametrize("expectations", [
    Expectations(tables=["users"], critical_tables=["users", "campaigns", "challenges"]),  # the seed's: users counted twice
    Expectations(tables=["users"], role_count=RoleCount(table="users", column=None), critical_tables=["campaigns"]),
    Expectations(tables=["users"], role_count=RoleCount(table="users", column="no_such_column"), critical_tables=["users"]),
    Expectations(tables=["users"], role_count=RoleCount(table="auth.members", column="kind"),
                 critical_tables=["auth.members", "missing_table", "proofs"]),
    Expectations(tables=["users"], role_count=RoleCount(table="no_such_table"), critical_tables=[]),
], ids=["seed", "no-role-column", "role-column-missing", "other-schema-and-missing-table", "nothing-to-count"])
def test_the_one_statement_total_equals_the_role_and_critical_counts(app_db, expectations):
    db = app_db("legacy")
    with db.connect() as conn:
        conn.execute("CREATE SCHEMA auth")
        conn.execute("CREATE TABLE auth.members (id int, kind text)")
        conn.execute("INSERT INTO auth.members SELECT g, CASE WHEN g % 3 = 0 THEN NULL ELSE 'a' END FROM generate_series(1, 7) g")
        conn.commit()
        assert protected_total(conn, expectations) == _sum(protected_counts(conn, expectations))
