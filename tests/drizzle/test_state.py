"""Reconciliation names every trap of drizzle's high-water-mark rule."""

from __future__ import annotations

from pathlib import Path

from pgrunbook.drizzle import LocalMigrations, Migration, TrackingRow, reconcile
from pgrunbook.drizzle.journal import _line_ending_hashes, drizzle_hash


def mig(idx: int, when: int, text: str | None = None) -> Migration:
    text = text or f"SELECT {idx};"
    return Migration(idx, f"{idx:04d}_m", when, True, Path(f"{idx:04d}_m.sql"), text, drizzle_hash(text.encode()), _line_ending_hashes(text))


def local(*migrations: Migration) -> LocalMigrations:
    return LocalMigrations(Path("."), migrations, (), ())


def row(id_: int, m: Migration, created_at: int | None = -1) -> TrackingRow:
    return TrackingRow(id_, m.hash, m.when if created_at == -1 else created_at)


A, B, C, D = mig(0, 100), mig(1, 200), mig(2, 300), mig(3, 150)  # D: hand-written later with an older `when`


def test_no_tracking_table_means_everything_pending():
    state = reconcile(local(A, B), None)
    assert not state.tracking_present and state.pending == ("0000_m", "0001_m") and state.stranded == ()
    assert state.drizzle_would_apply(local(A, B)) == ("0000_m", "0001_m")


def test_non_contiguous_ids_as_in_real_production():
    state = reconcile(local(A, B, C), [row(0, A), row(1, B), row(283, C)])
    assert state.applied_tags == ("0000_m", "0001_m", "0002_m") and state.pending == ()
    assert [a.row.id for a in state.applied] == [0, 1, 283]


def test_stranded_entry_below_the_mark():
    lm = local(A, B, D, C)
    state = reconcile(lm, [row(1, A), row(2, B), row(3, C)])
    assert state.pending == ("0003_m",) and state.stranded == ("0003_m",)
    assert state.drizzle_would_apply(lm) == ()  # drizzle skips it silently


def test_pending_above_the_mark_is_not_stranded():
    state = reconcile(local(A, B, C), [row(1, A), row(2, B)])
    assert state.pending == ("0002_m",) and state.stranded == ()


def test_scenario_c_created_at_now_strands_later_entries():
    state = reconcile(local(A, B, C), [row(1, A), row(11, B, created_at=10**13)])
    assert state.pending == ("0002_m",) and state.stranded == ("0002_m",)


def test_edited_after_applied_matches_by_when():
    edited = TrackingRow(5, "0" * 64, B.when)
    state = reconcile(local(A, B), [row(1, A), edited])
    assert state.edited == ("0001_m",) and state.applied[1].matched_by == "when"


def test_unknown_row():
    stray = TrackingRow(9, "f" * 64, 999)
    state = reconcile(local(A), [row(1, A), stray])
    assert state.unknown_rows == (stray,)


def test_null_created_at_resets_drizzles_mark():
    lm = local(A, B)
    state = reconcile(lm, [row(1, A, created_at=None), row(2, B)])
    assert state.null_created_at and state.drizzle_mark is None
    assert state.drizzle_would_apply(lm) == ("0000_m", "0001_m")


def test_crlf_applied_lf_on_disk_is_the_same_migration():
    lf = mig(0, 100, "SELECT 1;\n--> statement-breakpoint\nSELECT 2;\n")
    crlf_hash = drizzle_hash(lf.text.replace("\n", "\r\n").encode())
    state = reconcile(local(lf), [TrackingRow(1, crlf_hash, 100)])
    assert state.line_endings_only == ("0000_m",) and state.pending == ()


def test_duplicate_rows():
    state = reconcile(local(A), [row(1, A), row(2, A)])
    assert [r.id for r in state.duplicate_rows] == [2]


def test_ledger_gaps_are_unrecorded_entries_before_a_recorded_one():
    from pgrunbook.drizzle.state import ledger_gaps

    migrations = local(A, B, C, D)
    assert ledger_gaps(migrations, {"0000_m", "0001_m", "0002_m"}) == ()  # D pending at the end: no gap
    assert ledger_gaps(migrations, {"0003_m"}) == ("0000_m", "0001_m", "0002_m")  # the partial --only on a legacy database
    assert ledger_gaps(migrations, set()) == ()


def test_only_refuses_a_plan_that_leaves_earlier_migrations_unrecorded():
    import pytest

    from pgrunbook.drizzle.plan import make_plan
    from pgrunbook.errors import CheckFailed

    migrations = local(A, B, C, D)
    with pytest.raises(CheckFailed, match="0000_m, 0001_m, 0002_m before it stay unrecorded") as exc:
        make_plan(migrations, reconcile(migrations, None), only="0003")  # no ledger: baseline first
    assert "without --only" in exc.value.next_step
    with pytest.raises(CheckFailed, match="0001_m before it"):
        make_plan(migrations, reconcile(migrations, [row(0, A)]), only="0002")
    plan = make_plan(migrations, reconcile(migrations, [row(0, A), row(1, B), row(2, C)]), only="0003")  # the seed's psql -f 0011
    assert plan.scenario == "C" and [s.tag for s in plan.steps] == ["0003_m"]


# --- drizzle 1.0 runs next: names, and its upgrade of a 0.45 ledger ---------------------------

from pgrunbook.drizzle.journal import folder_millis  # noqa: E402
from pgrunbook.drizzle.state import upgrade_matches  # noqa: E402


def v1(idx: int, name: str, text: str | None = None) -> Migration:
    text = text or f"SELECT {idx};"
    return Migration(idx, name, folder_millis(name), True, Path(name) / "migration.sql", text, drizzle_hash(text.encode()),
                     _line_ending_hashes(text), format="1.0", name_v1=name)


def v1_local(*migrations: Migration) -> LocalMigrations:
    return LocalMigrations(Path("."), migrations, (), (), format="1.0")


def v1_row(id_: int, m: Migration, name: str | None = "", hash_: str | None = None) -> TrackingRow:
    return TrackingRow(id_, hash_ or m.hash, m.when_v1, m.name_v1 if name == "" else name, v1=True)


P = v1(0, "20240101000000_a")
Q = v1(1, "20240201000000_b")
R = v1(2, "20240115000000_c")  # generated on a branch: its time is older than Q's


def test_v1_pending_is_a_set_difference_of_names_nothing_stranded():
    state = reconcile(v1_local(P, R, Q), [v1_row(1, P), v1_row(2, Q)])
    assert state.drizzle == "1.0" and state.ledger_version == 1
    assert state.pending == (R.tag,) and state.stranded == () and state.drizzle_would_apply(v1_local(P, R, Q)) == (R.tag,)


def test_v1_renamed_folder_is_rerun_and_named():
    renamed = v1(1, "20240201000000_b_renamed")
    state = reconcile(v1_local(P, renamed), [v1_row(1, P), v1_row(2, Q)])
    assert state.pending == (renamed.tag,) and state.renamed == ((renamed.tag, Q.tag),)
    assert [r.id for r in state.unknown_rows] == [2]


def test_v1_folder_applied_under_another_hash_is_edited():
    state = reconcile(v1_local(P, Q), [v1_row(1, P), v1_row(2, Q, hash_="0" * 64)])
    assert state.pending == () and state.edited == (Q.tag,)


def test_v1_row_without_name_counts_for_nothing():
    """The issue's trap: a row written without its name (by 0.45 tooling) is re-run by drizzle 1.0."""
    state = reconcile(v1_local(P, Q), [v1_row(1, P), v1_row(2, Q, name=None)])
    assert state.pending == (Q.tag,) and [r.id for r in state.nameless_rows] == [2] and state.renamed == ((Q.tag, None),)


def test_upgrade_names_rows_by_second_then_hash_as_drizzle_does():
    twin_a, twin_b = v1(3, "20240301000000_x"), v1(4, "20240301000000_y")
    rows = [TrackingRow(1, P.hash, P.when_v1 + 512),          # 0.45 `when` in ms: truncated to its second
            TrackingRow(2, "f" * 64, Q.when_v1),               # lone folder of that second: matched whatever its hash
            TrackingRow(3, twin_b.hash, twin_b.when_v1),       # two folders that second: by hash
            TrackingRow(4, R.hash, 5)]                         # no folder that second: by hash
    matches = upgrade_matches((P, Q, R, twin_a, twin_b), rows)
    assert [(m.name, m.why) for m in matches] == [(P.tag, "created_at"), (Q.tag, "created_at"),
                                                  (twin_b.tag, "created_at+hash"), (R.tag, "hash")]


def test_upgrade_of_a_row_matching_nothing_is_blocked():
    state = reconcile(v1_local(P, Q), [TrackingRow(1, P.hash, P.when_v1), TrackingRow(7, "e" * 64, 42)])
    assert state.ledger_version == 0 and state.needs_upgrade and state.upgrade_blocked
    assert [r.id for r in state.unknown_rows] == [7] and state.pending == (Q.tag,)


def test_stranded_045_row_survives_the_upgrade_by_hash():
    """0.45 recorded 0011 with its old `when`; drizzle-kit up named its folder after a later, edited `when`."""
    moved = v1(2, "20240301000000_c", text=R.text)
    state = reconcile(v1_local(P, Q, moved), [TrackingRow(1, P.hash, P.when_v1 + 1), TrackingRow(2, Q.hash, Q.when_v1 + 2),
                                               TrackingRow(3, R.hash, R.when_v1 + 3)])
    assert state.pending == () and [u.why for u in state.upgrade] == ["created_at", "created_at", "hash"]
