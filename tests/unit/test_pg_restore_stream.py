"""`pg.run_restore`'s streaming mode: pg_restore's verbose progress lines are read as they come."""

from __future__ import annotations

from pgrunbook.pg import _restore_streaming


def fake(lines: str, code: int) -> list[str]:
    return ["sh", "-c", f"printf '{lines}' >&2; exit {code}"]


def test_each_finished_table_data_item_is_reported_with_its_table():
    seen: list[tuple[int, str]] = []
    lines = ("pg_restore: launching item 2741 TABLE DATA users\\n"
             "pg_restore: finished item 2741 TABLE DATA users\\n"
             "pg_restore: finished item 2548 CONSTRAINT user_actions user_actions_pkey\\n"
             "pg_restore: finished item 2759 TABLE DATA user version\\n")
    code, kept = _restore_streaming(fake(lines, 0), {}, lambda i, t: seen.append((i, t)))
    assert code == 0 and seen == [(2741, "users"), (2759, "user version")] and kept == ""


def test_an_error_report_keeps_the_messages_not_the_progress_lines():
    lines = ("pg_restore: processing item 1 TABLE users\\n"
             "pg_restore: error: could not execute query: ERROR:  relation already exists\\n"
             "Command was: CREATE TABLE users ();\\n")
    code, kept = _restore_streaming(fake(lines, 1), {}, lambda i, t: None)
    assert code == 1 and kept.startswith("pg_restore: error: could not execute") and "processing item" not in kept
