"""drizzle 1.0's history graph (prevIds): diverging branches reported before anything runs (pure)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pgrunbook.drizzle import load_migrations
from pgrunbook.drizzle.history import ROOT, Node, check_history, history_of

FIXTURE_V1 = Path(__file__).parents[2] / "src" / "pgrunbook" / "sandbox" / "fixture" / "drizzle-1.0"


def line(*tags: str) -> list[Node]:
    return [Node(t, f"id-{t}", (f"id-{tags[i - 1]}",) if i else (ROOT,)) for i, t in enumerate(tags)]


@pytest.mark.parametrize(("nodes", "applied", "kinds"), [
    (line("1_a", "2_b", "3_c"), (), []),
    (line("1_a", "2_b", "3_c"), ("1_a", "2_b"), []),
    # two branches from 2_b, never merged: two heads
    (line("1_a", "2_b", "3_c") + [Node("4_d", "id-4_d", ("id-2_b",))], (), ["heads"]),
    # ...merged by 5_m (prevIds: both heads): one head, fine
    (line("1_a", "2_b", "3_c") + [Node("4_d", "id-4_d", ("id-2_b",)), Node("5_m", "id-5_m", ("id-3_c", "id-4_d"))], (), []),
    # a parent no folder holds
    (line("1_a", "2_b") + [Node("3_c", "id-3_c", ("id-gone",))], (), ["missing-parent", "heads"]),
    # a child sorting before its parent
    ([Node("1_a", "id-1_a", (ROOT,)), Node("3_c", "id-3_c", ("id-1_a",)), Node("2_b", "id-2_b", ("id-3_c",))], (), ["parent-sorts-after"]),
    # the database took 3_c (a branch's) without its parent 2_b
    (line("1_a", "2_b", "3_c"), ("1_a", "3_c"), ["parent-not-applied"]),
])
def test_check_history(nodes, applied, kinds):
    history = check_history(nodes, applied=applied)
    assert sorted(i.kind for i in history.issues) == sorted(kinds)
    assert history.ok == (not kinds) and history.checked == len(nodes)


def test_two_heads_name_each_branch_from_its_fork():
    nodes = line("1_a", "2_b", "3_c") + [Node("4_d", "id-4_d", ("id-2_b",)), Node("5_e", "id-5_e", ("id-4_d",))]
    (issue,) = check_history(nodes).issues
    assert issue.tags == ("3_c", "5_e") and "3_c (from 3_c); 5_e (from 4_d)" in issue.message


def test_the_committed_fixture_is_one_line():
    local = load_migrations(FIXTURE_V1)
    history = history_of(local, [m.tag for m in local.entries[:3]])
    assert history.ok and history.checked == 12 and history.heads == (local.entries[-1].tag,) and history.unchecked == ()


def test_a_branch_copied_in_is_found_and_a_folder_without_snapshot_is_unchecked(tmp_path):
    folder = tmp_path / "drizzle"
    shutil.copytree(FIXTURE_V1, folder)
    entries = load_migrations(folder).entries
    branch = folder / "20250916180726_on_a_branch"  # generated from the 10th migration, as a teammate's branch would be
    branch.mkdir()
    (branch / "migration.sql").write_text('ALTER TABLE "users" ADD COLUMN IF NOT EXISTS "nickname" text;\n')
    (branch / "snapshot.json").write_text(json.dumps({"id": "branch-id", "prevIds": [entries[9].snapshot_id], "version": "9",
                                                      "dialect": "postgres", "type": "diff"}))
    hand = folder / "20250916180727_hand_written"
    hand.mkdir()
    (hand / "migration.sql").write_text("SELECT 1;\n")
    history = history_of(load_migrations(folder))
    assert [i.kind for i in history.issues] == ["heads"] and history.heads == (entries[-1].tag, branch.name)
    assert history.unchecked == (hand.name,)


def test_a_0_45_folder_has_no_graph():
    assert history_of(load_migrations(FIXTURE_V1.parent / "drizzle")) is None
