"""pgrunbook's Invoke tasks: thin. Parse options, call `pgrunbook.cli`, exit with its code.

Heavy libraries are imported inside the tasks, so `inv --list` stays fast.
Exit codes: 0 ok / GO, 1 runtime error, 2 usage or config error, 3 check failed / NO-GO, 4 rolled back.
"""

from functools import partial

from invoke import Collection, Exit
from invoke import task as invoke_task

from pgrunbook.program import GrammarTask, install_into_invoke

# One grammar (issue 14): short flags only for -i/-p/-j/-r/-y, did-you-mean and exit 2 on a typo.
task = partial(invoke_task, klass=GrammarTask)
install_into_invoke()

INVENTORY_HELP = "inventory YAML (default: inventory/sandbox.yml, never production)"
PLAYBOOK_HELP = "playbook YAML (default: playbooks/runbook.yml)"
JSON_HELP = "print machine-readable JSON on stdout"
RUN_HELP = "record into this open run (default: the open run of this database if it is still the database it observed, else a new one)"
NEW_RUN_HELP = "start a new run instead of joining the open one (after the database changed since that run observed it)"
VERBOSE_HELP = "show every event, every statement of every migration included"
QUIET_HELP = "show nothing while it runs, only the result (the recap)"


def _exit(code: int) -> None:
    if code:
        raise Exit(code=code)


@task(help={"inventory": INVENTORY_HELP, "playbook": PLAYBOOK_HELP, "json": JSON_HELP})
def verify(c, inventory=None, playbook=None, json=False):
    """Phase 1: read-only verification (READ ONLY transaction) against the playbook's expectations.

    Example: inv verify -i inventory/production.yml --json
    """
    from pgrunbook import cli

    _exit(cli.verify(inventory, playbook, json))


@task(help={"inventory": INVENTORY_HELP, "playbook": PLAYBOOK_HELP, "json": JSON_HELP,
            "baseline_until": "scenario B: last migration the existing schema already contains (default: detected from evidence)",
            "only": "scenario C: plan this one migration only",
            "online": "plan plain CREATE INDEX on existing tables as CREATE INDEX CONCURRENTLY",
            "single_transaction": "plan everything in one transaction (drizzle's own behaviour)",
            "sql": "print the exact SQL migrate would run (the dry run), nothing else"})
def analyze(c, inventory=None, playbook=None, baseline_until=None, only=None, online=False, single_transaction=False, sql=False, json=False):
    """Phase 3: pending migrations, safety lint (parse tree + squawk + lock estimates), plan, exact SQL.

    Example: inv analyze --sql --online
    """
    from pgrunbook import cli

    _exit(cli.analyze(inventory, playbook, baseline_until=baseline_until, only=only, online=online,
                      single_transaction=single_transaction, sql=sql, as_json=json))


@task(help={"inventory": INVENTORY_HELP, "playbook": PLAYBOOK_HELP, "json": JSON_HELP,
            "run": RUN_HELP, "new_run": NEW_RUN_HELP,
            "backup": "judge this backup (id or prefix) instead of the newest",
            "rehearse": "also restore the backup into a scratch database and apply the plan there: drift or failure is NO-GO",
            "online": "with --rehearse: rehearse as `inv migrate --online` will run it",
            "baseline_until": "scenario B: as for analyze", "only": "scenario C: as for analyze"})
def gate(c, inventory=None, playbook=None, run=None, new_run=False, backup=None, baseline_until=None, only=None, rehearse=False,
         online=False, json=False):
    """Phase 4: go / no-go, every criterion evaluated with its reason (exit 0 GO, 3 NO-GO).

    Example: inv gate --rehearse --online
    """
    from pgrunbook import cli

    _exit(cli.gate(inventory, playbook, run_id=run, backup=backup, baseline_until=baseline_until, only=only, rehearse=rehearse,
                   online=online, as_json=json, new_run=new_run))


@task(help={"inventory": INVENTORY_HELP, "playbook": PLAYBOOK_HELP, "json": JSON_HELP,
            "run": "the run whose GO this acts on (default: the open run of this database)", "new_run": NEW_RUN_HELP,
            "backup": "re-evaluate the gate now with this backup instead of a recorded GO",
            "online": "build plain CREATE INDEX on existing tables CONCURRENTLY (no write blocked)",
            "single_transaction": "everything in one transaction, as drizzle does",
            "dry_run": "print the exact SQL and stop (changes nothing)",
            "yes": "do not ask for the database name on a non-sandbox target",
            "baseline_until": "scenario B: as for analyze", "only": "scenario C: as for analyze",
            "verbose": VERBOSE_HELP, "quiet": QUIET_HELP})
def migrate(c, inventory=None, playbook=None, run=None, new_run=False, backup=None, online=False, single_transaction=False,
            dry_run=False, yes=False, baseline_until=None, only=None, json=False, verbose=False, quiet=False):
    """Phase 5: apply the plan a GO approved, under an advisory lock, lock_timeout and retries.

    Example: inv migrate --dry-run --online
    """
    from pgrunbook import cli

    _exit(cli.migrate(inventory, playbook, run_id=run, backup=backup, online=online, single_transaction=single_transaction,
                      dry_run=dry_run, yes=yes, baseline_until=baseline_until, only=only, as_json=json, new_run=new_run,
                      verbose=verbose, quiet=quiet))


@task(help={"inventory": INVENTORY_HELP, "playbook": PLAYBOOK_HELP, "json": JSON_HELP,
            "run": "the run to validate (default: the open run of this database)", "new_run": NEW_RUN_HELP})
def validate(c, inventory=None, playbook=None, run=None, new_run=False, json=False):
    """Phase 6: indexes by name and valid, tracking rows, protected counts vs before, API, hot queries.

    Example: inv validate -r 20261125_162112_853ce9
    """
    from pgrunbook import cli

    _exit(cli.validate(inventory, playbook, run_id=run, as_json=json, new_run=new_run))


@task(name="migrate-prod", help={
    "inventory": INVENTORY_HELP, "playbook": PLAYBOOK_HELP, "json": JSON_HELP,
    "resume": "continue the run RUN_ID from its journal (phases done are skipped; migrate re-plans)",
    "yes": "do not ask for the database name on a non-sandbox target",
    "online": "build indexes CONCURRENTLY", "single_transaction": "all migrations in one transaction",
    "rehearse": "the gate rehearses the plan on a restored copy first (default: playbook migrate.rehearse)",
    "verbose": VERBOSE_HELP, "quiet": QUIET_HELP})
def migrate_prod(c, inventory=None, playbook=None, resume=None, yes=False, online=False, single_transaction=False, rehearse=False,
                 json=False, verbose=False, quiet=False):
    """The whole runbook: verify, backup, analyze, gate, migrate, validate, post-backup, report; auto-rollback on drift (exit 4).

    Example: inv migrate-prod -i inventory/production.yml --resume 20261125_162112_853ce9
    """
    from pgrunbook import cli

    _exit(cli.migrate_prod(inventory, playbook, resume=resume, yes=yes, online=online, single_transaction=single_transaction,
                           rehearse=rehearse or None, as_json=json, verbose=verbose, quiet=quiet))


@task(help={"inventory": INVENTORY_HELP, "playbook": PLAYBOOK_HELP, "json": JSON_HELP,
            "run": "the run (default: the newest closed run of this database)", "lang": "en or fr (the seed's template)",
            "html": "also write report.LANG.html beside the journal (one file, charts inline, no network) and print its path"})
def report(c, inventory=None, playbook=None, run=None, lang="en", json=False, html=False):
    """The seed's migration report, filled from a run journal (Markdown en/fr, JSON, HTML with charts).

    Example: inv report -r 20261125_162112_853ce9 --lang fr --html
    """
    from pgrunbook import cli

    _exit(cli.report(inventory, playbook, run_id=run, lang=lang, as_json=json, as_html=html))


@task(name="demo", help={"break": "inject user-count drift after migrate: watch the automatic rollback (exit 4)",
                         "scale": "fixture scale (1 = 68 users)", "json": JSON_HELP,
                         "app": "how the sandbox API runs: command (a local process, default) or compose (Docker Compose service "
                                "`backend`; needs a running docker engine)",
                         "drizzle": "the app's migrations folder: 0.45 (journal, default) or 1.0 (converted by drizzle-kit up)",
                         "verbose": VERBOSE_HELP, "quiet": QUIET_HELP,
                         "fleet": "a small fleet instead: 5 tenant databases, canary then two waves, one tenant rolled back (exit 4)"})
def demo(c, break_=False, scale=1, json=False, app="command", drizzle="0.45", verbose=False, quiet=False, fleet=False):
    """The main job on the sandbox: from nothing, the whole runbook end to end, then the report.

    Example: inv demo --break
    """
    from pgrunbook import cli

    if fleet:
        _exit(cli.fleet_demo(json))
        return
    _exit(cli.demo(break_, int(scale), json, app, drizzle, verbose=verbose, quiet=quiet))


@task(name="up")
def sandbox_up(c):
    """Start the embedded PostgreSQL 18 sandbox on 127.0.0.1 (data in .sandbox/).

    Example: inv sandbox.up
    """
    from pgrunbook import cli

    _exit(cli.sandbox_up())


@task(name="down", help={"purge": "also delete .sandbox/ (the cluster and its data)"})
def sandbox_down(c, purge=False):
    """Stop the sandbox.

    Example: inv sandbox.down --purge
    """
    from pgrunbook import cli

    _exit(cli.sandbox_down(purge))


@task(name="reset", help={"state": "legacy (no drizzle tracking, scenario B) or tracked (0000-0010 recorded, scenario A)",
                          "scale": "multiply every table's rows (15000 ≈ one million users)",
                          "drizzle": "the app's migrations folder: 0.45 (journal, default) or 1.0 (converted by drizzle-kit up)"})
def sandbox_reset(c, state="legacy", scale=1, drizzle="0.45"):
    """Recreate the sandbox app database in a given state, with fixture data.

    Example: inv sandbox.reset --state tracked --scale 10
    """
    from pgrunbook import cli

    _exit(cli.sandbox_reset(state, int(scale), drizzle))


@task(help={"k": "only tests matching this pytest -k expression", "x": "stop at the first failure"})
def test(c, k="", x=False):
    """Run the test suite (unit + integration against real servers on 127.0.0.1).

    Example: inv test -k verify -x
    """
    args = ["python", "-m", "pytest", "-q", "--durations=25"]  # the slowest tests named in every run: the suite's budget is ~15 min
    if k:
        args += ["-k", k]
    if x:
        args.append("-x")
    result = c.run(" ".join(_quote(a) for a in args), pty=False, warn=True)
    _exit(result.exited)


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)


@task(name="backup", default=True, help={
    "inventory": INVENTORY_HELP, "playbook": PLAYBOOK_HELP, "json": JSON_HELP,
    "format": "custom (default, .dump), plain (.sql, the seed's name) or directory (.dir, parallel -j)",
    "verify_restore": "also restore into a scratch database, compare every table's count, then drop it",
    "compress": "pg_dump --compress value (default 1 = gzip level 1 for custom/directory; 0 = none; 6 = pg_dump's own default)",
    "run": RUN_HELP, "new_run": NEW_RUN_HELP})
def backup_run(c, inventory=None, playbook=None, format=None, verify_restore=False, json=False, compress=None, run=None,  # noqa: A002
               new_run=False):
    """Phase 2: pg_dump (snapshot-consistent), integrity, manifest, copies verified in 2+ places.

    Example: inv backup --format directory --verify-restore
    """
    from pgrunbook import cli

    _exit(cli.backup(inventory, playbook, format, verify_restore, json, compress, run_id=run, new_run=new_run))


@task(name="list", help={"inventory": INVENTORY_HELP, "playbook": PLAYBOOK_HELP, "json": JSON_HELP})
def backup_list(c, inventory=None, playbook=None, json=False):
    """List backups: age, size, copies, verified?

    Example: inv backup.list --json
    """
    from pgrunbook import cli

    _exit(cli.backup_list(inventory, playbook, json))


@task(name="verify", help={"id": "backup id (or unique prefix, or manifest path)", "inventory": INVENTORY_HELP,
                           "playbook": PLAYBOOK_HELP, "json": JSON_HELP})
def backup_verify(c, id, inventory=None, playbook=None, json=False):  # noqa: A002
    """Re-check a backup's primary dump and every copy's checksum now.

    Example: inv backup.verify 20261125_1621
    """
    from pgrunbook import cli

    _exit(cli.backup_verify(inventory, playbook, id, json))


@task(help={"inventory": INVENTORY_HELP, "playbook": PLAYBOOK_HELP, "json": JSON_HELP,
            "full": "restore a backup into a new database and swap names (the current one is kept, renamed)",
            "indexes_only": "drop exactly the indexes this run created, and its tracking rows",
            "backup": "--full: restore this backup (id or prefix; default: the newest of this database, sha256-verified)",
            "in_place": "--full where CREATE/RENAME DATABASE is forbidden: safety dump, then pg_restore --clean --single-transaction",
            "online": "--full: keep the app serving during the restore, stop it only for the swap (downtime: seconds; what it "
                      "writes meanwhile stays in the kept database, reported)",
            "run": "the run whose migration to undo (default: the newest run of this database that migrated)",
            "dry_run": "print the plan (steps, names, commands without secrets) and change nothing",
            "yes": "do not ask for the database name on a non-sandbox target"})
def rollback(c, inventory=None, playbook=None, full=False, indexes_only=False, backup=None, in_place=False, run=None,
             dry_run=False, yes=False, json=False, online=False):
    """The seed's rollback plan, safely: --full (restore, never drop) or --indexes-only (only this run's).

    Example: inv rollback --full --dry-run
    """
    from pgrunbook import cli

    _exit(cli.rollback(inventory, playbook, full=full, indexes_only=indexes_only, backup=backup, in_place=in_place,
                       run_id=run, dry_run=dry_run, yes=yes, as_json=json, online=online))


@task(name="list", default=True, help={"inventory": INVENTORY_HELP, "playbook": PLAYBOOK_HELP, "json": JSON_HELP,
                                       "html": "also write runs/history.LANG.html: backup size and duration, migration duration "
                                               "and API p95 across runs (one file, no network) and print its path",
                                       "lang": "en or fr (the --html page)"})
def runs_list(c, inventory=None, playbook=None, json=False, html=False, lang="en"):
    """Every run of this database, newest first: id, kind, started, duration, phases, outcome; --html: the history with charts.

    Example: inv runs -i inventory/production.yml --html
    """
    from pgrunbook import cli

    _exit(cli.runs(inventory, playbook, as_json=json, as_html=html, lang=lang))


@task(name="show", help={"id": "the run id (`inv runs` lists them)", "inventory": INVENTORY_HELP, "playbook": PLAYBOOK_HELP,
                         "json": JSON_HELP})
def runs_show(c, id, inventory=None, playbook=None, json=False):  # noqa: A002
    """One run: its summary and its journal, record by record.

    Example: inv runs.show 20261125_162112_853ce9 --json
    """
    from pgrunbook import cli

    _exit(cli.runs_show(inventory, playbook, id, as_json=json))


FLEET_HELP = "the fleet inventory (instances, targets, policy; see inventory/fleet.example.yml)"
FLEET_PLAYBOOK_HELP = "playbook YAML for every target (default: the fleet inventory's `playbook:`, else playbooks/runbook.yml)"


@task(name="migrate-prod", help={
    "inventory": FLEET_HELP, "playbook": FLEET_PLAYBOOK_HELP, "json": JSON_HELP,
    "resume": "continue the fleet run FLEET_RUN: targets that ended are not run again, one killed mid-run has its run resumed",
    "yes": "do not ask for the fleet's name (non-sandbox targets)",
    "online": "build indexes CONCURRENTLY", "single_transaction": "all migrations in one transaction",
    "rehearse": "each target's gate rehearses the plan on a restored copy first"})
def fleet_migrate_prod(c, inventory=None, playbook=None, resume=None, yes=False, online=False, single_transaction=False, rehearse=False,
                       json=False):
    """The runbook over every database of a fleet, in waves: canary first, failure budget, per-instance limits (exit 3 stopped, 4 failed targets).

    Example: inv fleet.migrate-prod -i inventory/fleet.yml --resume 20261125_162112_853ce9
    """
    from pgrunbook import cli

    _exit(cli.fleet_migrate_prod(inventory, playbook, resume=resume, yes=yes, online=online, single_transaction=single_transaction,
                                 rehearse=rehearse or None, as_json=json))


@task(name="verify", help={"inventory": FLEET_HELP, "playbook": FLEET_PLAYBOOK_HELP, "json": JSON_HELP})
def fleet_verify(c, inventory=None, playbook=None, json=False):
    """Phase 1 on every database of the fleet (read only), then the drift between tenants: behind, unknown ledger rows, stranded.

    Example: inv fleet.verify -i inventory/fleet.yml --json
    """
    from pgrunbook import cli

    _exit(cli.fleet_verify(inventory, playbook, as_json=json))


@task(name="status", help={"inventory": FLEET_HELP, "playbook": FLEET_PLAYBOOK_HELP, "json": JSON_HELP,
                           "run": "the fleet run (default: the newest)",
                           "html": "also write fleet.html beside the fleet journal (waves on a timeline, outcomes per wave, the recap)"})
def fleet_status(c, inventory=None, playbook=None, run=None, json=False, html=False):
    """A fleet run from its journal: one line per target, totals per wave, what is left to resume.

    Example: inv fleet.status -i inventory/fleet.yml --html
    """
    from pgrunbook import cli

    _exit(cli.fleet_status(inventory, playbook, run_id=run, as_json=json, as_html=html))


sandbox = Collection("sandbox", sandbox_up, sandbox_down, sandbox_reset)
runs = Collection("runs", runs_list, runs_show)
backup = Collection("backup", backup_run, backup_list, backup_verify)
fleet = Collection("fleet", fleet_migrate_prod, fleet_verify, fleet_status)
ns = Collection(verify, analyze, gate, migrate, validate, rollback, migrate_prod, report, demo, test, sandbox, backup, runs, fleet)
