"""Rich markup must not eat our text (issue 12 item 10): `[rule-id]` in a check prints as written."""

from __future__ import annotations

from pgrunbook import console
from pgrunbook.outcome import Check, Status


def printed(monkeypatch, show, *args, **kwargs) -> str:
    from rich.console import Console

    capture = Console(width=200, highlight=False, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    monkeypatch.setattr(console, "out", capture)
    show(*args, **kwargs)
    return capture.export_text()


def test_rule_ids_in_brackets_survive_the_gate_table(monkeypatch):
    checks = (Check("lint", Status.FAIL, "0012_x.sql:3 [ban-drop] [squawk:prefer-robust-stmts] refused", "see [bold] not bold"),
              Check("[odd-id]", Status.OK, "fine"))
    text = printed(monkeypatch, console.show_checks, checks, title="Go / No-Go")
    assert "[ban-drop]" in text and "[squawk:prefer-robust-stmts]" in text and "see [bold] not bold" in text
    assert "[odd-id]" in text
