"""A real project's folder, converted by the real `drizzle-kit up` of the 1.0 line, through migrate-prod (issue 13).

`tests/interop/data/ai-chatbot-1.0` is `tests/realworld/ai-chatbot/drizzle` (vercel/ai-chatbot, Apache-2.0:
see its SOURCE) converted by drizzle-kit 1.0.0-rc.5's `up` (`kit.v1_copy`: the corpus ships no snapshots,
so each entry got an empty one first), committed. The story of a team half-way between the two lines:
the database was migrated by drizzle-orm 0.45's own migrator with the first six migrations; the repository
then moved to drizzle 1.0 (`drizzle-kit up`) and three more migrations came. pgrunbook's migrate-prod runs
the plan (drizzle 1.0's ledger upgrade, then the three), and drizzle-orm 1.0's own migrator afterwards
applies nothing and fails on nothing. A twin database taken there by drizzle 1.0 alone ends identical:
same schema, same ledger (hash, created_at, name).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from pgrunbook.config import load_config
from pgrunbook.drizzle import load_migrations
from pgrunbook.journal import AnalyzeEnded, LedgerUpgraded
from pgrunbook.runner import ProdOptions, migrate_prod

from .test_drizzle_interop import _drizzle_installed, connect, drizzle, empty_db, schema  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.integration, pytest.mark.slow]
HERE = Path(__file__).parent
CONVERTED = HERE / "data" / "ai-chatbot-1.0"
ORIGINAL = HERE.parent / "realworld" / "ai-chatbot" / "drizzle"
APPLIED_BY_045 = 6
# What the team reviewed in the three new migrations (the default policy asks for it), pinned to each file's hash.
REVIEWED = [
    {"migration": "20250501164926_marvelous_frog_thor", "sha256": "6a30552023ba8ef25142e5d338fb36f31c55850d6368aba4b47f1891bf8ec6dd",
     "rules": ["review-create-table", "review-add-constraint", "review-add-constraint-validating"],
     "reason": "the Stream table, new and empty; its FK to Chat validates no row", "reviewed_by": "interop test"},
    {"migration": "20260115121010_flat_forgotten_one", "sha256": "91b47413f2bb010c75221ffcae2aaf1207b9628091beb1ae2ab7721914d285fd",
     "rules": ["ban-drop"], "reason": "lastContext, added by the migration before it, holds no data yet",
     "reviewed_by": "interop test"},
]


def partial_045(tmp_path: Path) -> Path:
    """The 0.45 folder as it was when the database was last migrated: its first six migrations."""
    folder = tmp_path / "drizzle-0.45"
    shutil.copytree(ORIGINAL, folder)
    journal = json.loads((folder / "meta" / "_journal.json").read_text())
    for entry in journal["entries"][APPLIED_BY_045:]:
        (folder / f"{entry['tag']}.sql").unlink()
    journal["entries"] = journal["entries"][:APPLIED_BY_045]
    (folder / "meta" / "_journal.json").write_text(json.dumps(journal))
    return folder


def with_users_and_chats(url: str) -> None:
    with connect(url) as conn:
        conn.execute("""INSERT INTO "User" ("email") SELECT 'u' || i || '@example.com' FROM generate_series(1, 20) i""")
        conn.execute("""INSERT INTO "Chat" ("createdAt", "userId", "title", "visibility")
                        SELECT now(), u.id, 'chat ' || u.email, CASE WHEN row_number() OVER () % 3 = 0 THEN 'public' ELSE 'private' END
                        FROM "User" u""")


def full_ledger(url: str) -> list[tuple]:
    with connect(url) as conn:
        return conn.execute("SELECT hash, created_at, name FROM drizzle.__drizzle_migrations ORDER BY id").fetchall()


def test_the_committed_conversion_is_drizzle_kit_ups_of_the_corpus():
    """Same SQL bytes (same hashes), folders named from each `when`, one line of history."""
    from pgrunbook.drizzle.history import history_of

    original, converted = load_migrations(ORIGINAL), load_migrations(CONVERTED)
    assert converted.format == "1.0" and len(converted.entries) == len(original.entries) == 9
    assert [m.hash for m in converted.entries] == [m.hash for m in original.entries]
    assert [m.tag for m in converted.entries] == [m.name_v1 for m in original.entries]
    assert history_of(converted).ok


def test_a_real_project_half_way_from_0_45_to_1_0_through_migrate_prod_then_drizzle_1_applies_nothing(tmp_path, empty_db):
    ours, theirs = empty_db(), empty_db()
    for url in (ours, theirs):
        drizzle("migrate", partial_045(tmp_path / url.rsplit("/", 1)[-1]), url)  # drizzle-orm 0.45's own migrator
        with_users_and_chats(url)
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({
        "name": "ai-chatbot", "database": {"url": ours},
        "migrations": {"dir": str(CONVERTED), "drizzle": "1.0"},
        "backup": {"dir": str(tmp_path / "backups"), "min_copies": 0},
    }))
    playbook = tmp_path / "playbook.yml"
    playbook.write_text(yaml.safe_dump({"expectations": {
        "tables": ["User", "Chat"], "role_count": {"table": "Chat", "column": "visibility"}, "roles": ["private", "public"],
    }, "exceptions": REVIEWED}))
    cfg = load_config(inventory, playbook)
    result = migrate_prod(cfg, options=ProdOptions(yes=True))
    journal = result.run.read()
    assert result.outcome == "ok", [r.line(result.run.id) for r in journal.records if r.status not in ("", "ok", "go")]
    analyzed = {c["id"]: c for c in journal.last(AnalyzeEnded).checks}
    assert "exceptions" not in analyzed, analyzed["exceptions"]  # every reviewed exception lifts a finding: none stale
    upgraded = journal.last(LedgerUpgraded)
    assert upgraded is not None and len(upgraded.rows) == APPLIED_BY_045
    assert [r["name"] for r in upgraded.rows] == [m.tag for m in load_migrations(CONVERTED).entries[:APPLIED_BY_045]]
    after = full_ledger(ours)
    assert len(after) == 9 and all(name for _, _, name in after)
    drizzle("migrate1", CONVERTED, ours)  # drizzle-orm 1.0's own migrator: nothing to apply, nothing to fail on
    assert full_ledger(ours) == after
    drizzle("migrate1", CONVERTED, theirs)  # the twin, upgraded and migrated by drizzle 1.0 alone
    assert full_ledger(theirs) == after
    with connect(ours) as a, connect(theirs) as b:
        assert schema(a) == schema(b)
