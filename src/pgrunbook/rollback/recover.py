"""An interrupted full rollback, found in the run journal and the catalog, completed or undone.

A full rollback swaps two names: `<db>` -> `<db>_before_rollback_<ts>`, then
`<db>_restore_<ts>` -> `<db>`. Killed between the two (SIGKILL, a lost bastion), the
database is missing under its name and every command says "does not exist". The journal
says what was started (`rollback start`: backup, restore and kept names) and which steps
were recorded; the catalog says which databases exist now. `decide()` (pure) turns both
into one action; re-running `inv rollback --full` (same run, or the newest run of this
target with an unfinished rollback) applies it before anything else:

- `complete`: the first rename happened and the restored copy (already counted against the
  manifest before the swap began) is there: rename it to `<db>`, then finish as usual.
- `finish`: both renames happened: allow connections to the kept database, start the app,
  check the counts.
- `abandon`: the swap never began: drop the leftover restore database (only if its comment
  still carries the token the interrupted run journaled: the one guarded drop), let
  connections in again, and roll back afresh.
- `undo`: the first rename happened but the restored copy is gone: rename the kept database
  back, and roll back afresh.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import CheckFailed
from ..journal import RollbackEnded, RollbackStarted, RollbackStep, RollbackStopped
from ..runs import Run, list_runs


@dataclass(frozen=True)
class Unfinished:
    run: Run
    start: RollbackStarted
    steps: tuple[RollbackStep, ...]  # the step records after it

    @property
    def renamed_away(self) -> bool:
        """Whether `<db>` was renamed to the kept name (the swap's first half)."""
        return any(s.status == "renamed" and s["new"] == self.start.kept_db for s in self.steps)

    @property
    def token(self) -> str | None:
        created = [s for s in self.steps if s.status == "created-restore-db"]
        return created[-1]["token"] if created else None


def unfinished(run: Run) -> Unfinished | None:
    """The run's last full (restore-and-rename) rollback, if it has no end or error record."""
    records = run.read().records
    starts = [i for i, r in enumerate(records) if isinstance(r, RollbackStarted)]
    if not starts:
        return None
    start, after = records[starts[-1]], records[starts[-1] + 1:]
    if start.mode != "full" or any(isinstance(r, (RollbackEnded, RollbackStopped)) for r in after):
        return None
    return Unfinished(run, start, tuple(r for r in after if isinstance(r, RollbackStep)))


def find_unfinished(backup_dir, target: str) -> Unfinished | None:  # noqa: ANN001
    """The newest run of `target` whose full rollback was interrupted."""
    for run in list_runs(backup_dir, target):
        found = unfinished(run)
        if found is not None:
            return found
    return None


def decide(*, db: bool, restore: bool, kept: bool, renamed_away: bool) -> str:
    """What to do with an interrupted swap, from which databases exist now (pure)."""
    if not db and kept and restore and renamed_away:
        return "complete"
    if db and kept and not restore and renamed_away:
        return "finish"
    if db and not kept:
        return "abandon"
    if not db and kept and not restore and renamed_away:
        return "undo"
    raise CheckFailed(
        f"an interrupted rollback left a state this tool does not know how to resume: <db> {_word(db)}, "
        f"restore copy {_word(restore)}, kept copy {_word(kept)}, first rename {'done' if renamed_away else 'not recorded'}",
        changed="nothing was changed now",
        next_step="inspect the databases named in the run journal's rollback start record and rename by hand")


def _word(present: bool) -> str:
    return "present" if present else "absent"


def recovery_hint(backup_dir, target: str, dbname: str) -> str | None:  # noqa: ANN001
    """For a database that does not exist: the command that recovers an interrupted rollback of it."""
    found = find_unfinished(backup_dir, target)
    if found is None or not found.renamed_away:
        return None
    return (f"an interrupted rollback (run {found.run.id}) renamed {dbname} to {found.start.kept_db}: "
            f"run `inv rollback --full --run {found.run.id}` to complete it")


def app_left_stopped(backup_dir, target: str) -> str | None:  # noqa: ANN001
    """A run that stopped the app for a rollback and was interrupted before starting it again."""
    found = find_unfinished(backup_dir, target)
    if found is None:
        return None
    names = [s.status for s in found.steps]
    if "stop-app" in names and "app-started" not in names[names.index("stop-app"):]:
        return f"run {found.run.id}'s rollback stopped the app and was interrupted before starting it again"
    return None
