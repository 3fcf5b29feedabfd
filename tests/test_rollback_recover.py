"""rollback.recover.decide: an interrupted swap, from the catalog and the journal (pure)."""

from __future__ import annotations

import pytest

from pgrunbook.errors import CheckFailed
from pgrunbook.rollback.recover import decide


@pytest.mark.parametrize("db, restore, kept, renamed, action", [
    (False, True, True, True, "complete"),   # killed between the two renames
    (True, False, True, True, "finish"),     # killed after the swap, before the app started
    (True, True, False, False, "abandon"),   # killed while restoring: drop the copy, start afresh
    (True, False, False, False, "abandon"),  # killed before the copy was created
    (False, False, True, True, "undo"),      # the restored copy vanished: put the old name back
])
def test_each_interrupted_state_has_one_action(db, restore, kept, renamed, action):
    assert decide(db=db, restore=restore, kept=kept, renamed_away=renamed) == action


def test_an_unknown_state_changes_nothing_and_says_what_it_found():
    with pytest.raises(CheckFailed, match="does not know how to resume") as exc:
        decide(db=False, restore=True, kept=False, renamed_away=False)
    assert "nothing was changed" in exc.value.changed
