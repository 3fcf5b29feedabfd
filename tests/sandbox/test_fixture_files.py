"""The drizzle folder of the fixture, as files: drizzle-kit's format and the stranded 0011."""

from __future__ import annotations

import json
import re

import pytest
from pglast import ast, parse_sql

from pgrunbook.sandbox.data import BREAKPOINT, DRIZZLE_DIR, TABLES, migration_statements

JOURNAL = DRIZZLE_DIR / "meta" / "_journal.json"
INDEX_0011 = re.compile(r'^CREATE INDEX IF NOT EXISTS "(idx_[a-z0-9_]+)" ON "([a-z_]+)" \(("[a-z_]+"(, "[a-z_]+")*)\);$')


def journal() -> dict:
    return json.loads(JOURNAL.read_text(encoding="utf-8"))


def entries() -> list[dict]:
    return journal()["entries"]


def test_journal_is_drizzle_kit_json():
    raw = JOURNAL.read_text(encoding="utf-8")
    data = json.loads(raw)
    assert raw == json.dumps(data, indent=2, ensure_ascii=False)  # JSON.stringify(journal, null, 2)
    assert data["version"] == "7" and data["dialect"] == "postgresql"
    assert list(data) == ["version", "dialect", "entries"]
    assert len(data["entries"]) == 12
    for position, entry in enumerate(data["entries"]):
        assert list(entry) == ["idx", "version", "when", "tag", "breakpoints"]
        assert entry["idx"] == position
        assert entry["version"] == "7" and entry["breakpoints"] is True
        assert re.fullmatch(r"\d{4}_[a-z0-9_]+", entry["tag"]) and int(entry["tag"][:4]) == position
        assert isinstance(entry["when"], int) and not isinstance(entry["when"], bool)
    assert data["entries"][0]["tag"] == "0000_initial_schema"
    assert data["entries"][11]["tag"] == "0011_add_performance_indexes"


def test_when_increases_then_0011_goes_back_in_time():
    whens = [e["when"] for e in entries()]
    assert whens[:11] == sorted(whens[:11]) and len(set(whens[:11])) == 11
    assert 1717200000000 <= whens[0] and whens[10] < 1759276800000  # June 2024 .. end of September 2025
    assert whens[11] < whens[10]  # the trap
    # drizzle-orm's migrator: apply an entry only if the last applied created_at < entry.when.
    last_applied = whens[10]  # a database up to date with 0010
    pending = [e["tag"] for e in entries() if last_applied < e["when"]]
    assert pending == []  # 0011 is silently skipped


def test_file_set_is_the_journal():
    tags = {e["tag"] for e in entries()}
    assert {p.name for p in DRIZZLE_DIR.glob("*.sql")} == {f"{t}.sql" for t in tags}
    assert {p.name for p in DRIZZLE_DIR.iterdir() if p.is_file()} == {f"{t}.sql" for t in tags}
    assert [p.name for p in (DRIZZLE_DIR / "meta").iterdir()] == ["_journal.json"]


def test_0011_is_43_idx_indexes_then_analyze():
    path = DRIZZLE_DIR / "0011_add_performance_indexes.sql"
    statements = migration_statements(path)
    creates = [s for s in statements if s.startswith("CREATE INDEX")]
    analyzes = [s for s in statements if s.startswith("ANALYZE")]
    assert len(creates) == 43
    assert statements == creates + analyzes  # nothing else, indexes first
    names = []
    for statement in creates:
        match = INDEX_0011.match(statement)
        assert match, statement
        names.append(match.group(1))
        assert match.group(2) in TABLES
    assert len(set(names)) == 43
    assert analyzes == [f'ANALYZE "{t}";' for t in TABLES]
    # Each CREATE INDEX is followed by the breakpoint on its own line.
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        if line.startswith("CREATE INDEX"):
            assert lines[number + 1] == BREAKPOINT


def test_no_idx_index_before_0011():
    for entry in entries()[:11]:
        text = (DRIZZLE_DIR / f"{entry['tag']}.sql").read_text(encoding="utf-8")
        assert "idx_" not in text, entry["tag"]
        assert '"idx_' not in text


def _statements_0000_0010():
    for entry in entries()[:11]:
        for statement in migration_statements(DRIZZLE_DIR / f"{entry['tag']}.sql"):
            yield entry["tag"], statement


def test_drizzle_kit_statement_style():
    for tag, statement in _statements_0000_0010():
        first = statement.split("\n")[0]
        assert first.startswith((
            'CREATE TYPE "public".', 'CREATE TABLE IF NOT EXISTS "', 'ALTER TABLE "', "DO $$ BEGIN",
            'CREATE INDEX IF NOT EXISTS "',
        )), (tag, first)
        if first.startswith("DO $$"):
            assert re.fullmatch(
                r'DO \$\$ BEGIN\n ALTER TABLE "(\w+)" ADD CONSTRAINT "\1_(\w+)_(\w+)_id_fk" FOREIGN KEY \("\2"\) '
                r'REFERENCES "public"\."\3"\("id"\) ON DELETE (cascade|set null|no action) ON UPDATE no action;\n'
                r"EXCEPTION\n WHEN duplicate_object THEN null;\nEND \$\$;",
                statement,
            ), statement
        if first.startswith("CREATE INDEX"):
            assert " USING btree (" in statement
    for entry in entries()[:11]:
        text = (DRIZZLE_DIR / f"{entry['tag']}.sql").read_text(encoding="utf-8")
        assert not text.rstrip().endswith(BREAKPOINT)


def test_tables_created_are_the_seeds_eleven():
    created = [
        re.match(r'CREATE TABLE IF NOT EXISTS "(\w+)"', s).group(1)
        for _, s in _statements_0000_0010() if s.startswith("CREATE TABLE")
    ]
    assert sorted(created) == sorted(TABLES)
    by_tag = {tag: re.findall(r'CREATE TABLE IF NOT EXISTS "(\w+)"', (DRIZZLE_DIR / f"{tag}.sql").read_text())
              for tag in (e["tag"] for e in entries())}
    assert by_tag["0003_add_daily_bonus"] == ["daily_bonus"]
    assert by_tag["0006_add_proofs"] == ["proofs"]
    assert by_tag["0008_add_app_versions"] == ["app_versions", "user_version_tracking"]
    assert by_tag["0010_add_campaign_bonus_config"] == ["campaign_bonus_config"]


ALLOWED_ALTER = {"AT_AddColumn", "AT_AddConstraint"}


@pytest.mark.parametrize("tag", [e["tag"] for e in entries()])
def test_no_destructive_statement(tag):
    """Only CREATE TYPE/TABLE/INDEX, ALTER TABLE ADD COLUMN/CONSTRAINT (also inside DO), ANALYZE."""

    def check(statement: str) -> None:
        for raw in parse_sql(statement):
            node = raw.stmt
            if isinstance(node, ast.DoStmt):
                body = next(arg.arg.sval for arg in node.args if arg.defname == "as")
                inner = re.fullmatch(r"\s*BEGIN\s+(.*?;)\s*EXCEPTION\s+WHEN duplicate_object THEN null;\s*END\s*", body, re.S)
                assert inner, body
                check(inner.group(1))
            elif isinstance(node, ast.AlterTableStmt):
                assert {cmd.subtype.name for cmd in node.cmds} <= ALLOWED_ALTER, statement
            elif isinstance(node, ast.VacuumStmt):
                assert not node.is_vacuumcmd, statement  # ANALYZE, not VACUUM
            else:
                assert isinstance(node, (ast.CreateEnumStmt, ast.CreateStmt, ast.IndexStmt)), statement

    for statement in migration_statements(DRIZZLE_DIR / f"{tag}.sql"):
        check(statement)
