"""Glue between tasks.py and the package: load config, call one service, map the outcome.

Exit codes: 0 ok / GO, 1 runtime error, 2 usage or configuration error, 3 check failed /
NO-GO, 4 rolled back. Every `PgRunbookError` is rendered as what / changed / next step,
without a traceback; anything else is an internal error (exit 1) with its traceback.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable

from .errors import PgRunbookError

EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, EXIT_CHECK, EXIT_ROLLED_BACK = 0, 1, 2, 3, 4


def guarded(action: Callable[[], int], flags: str = "") -> int:
    """Run `action`, turning our errors into their exit codes. `flags` (` -i X -p Y`, as the user
    gave them) go into every `inv …` command a `next:` names."""
    from . import console

    try:
        return action()
    except PgRunbookError as exc:
        console.show_error(_fit_target(exc, flags), flags=flags)
        return exc.exit_code
    except _database_error() as exc:
        console.show_error(_translate_database_error(exc), flags=flags)
        return EXIT_RUNTIME
    except KeyboardInterrupt as exc:
        said = "; ".join(getattr(exc, "__notes__", ()))  # what the interrupted step cleaned up (a partial dump …)
        console.err.print("[yellow]interrupted[/]: " + (console.escape(said) if said else
                          "stopped where it was; see the messages above for what was done"))
        return 130
    except Exception:  # noqa: BLE001 - the last line of defence must name the bug, not hide it
        console.err.print("[bold red]internal error[/] (a bug in pgrunbook; please report it with this traceback):")
        console.err.print(traceback.format_exc(), markup=False, highlight=False)
        return EXIT_RUNTIME


def _fit_target(exc: PgRunbookError, flags: str) -> PgRunbookError:
    """A sandbox target gets the sandbox's next step: its server is simply not running (`inv
    sandbox.up`), not a VPN or a firewall in the way."""
    from .errors import ConfigError, ConnectionFailure

    unreachable = isinstance(exc, ConnectionFailure) and "VPN" in (exc.next_step or "")
    no_app = isinstance(exc, ConfigError) and "migrations folder" in exc.what and "does not exist" in exc.what
    if not (unreachable or no_app) or not _is_sandbox(flags):
        return exc
    if unreachable:
        exc.next_step = ("the sandbox's PostgreSQL is not running: `inv sandbox.up` starts it (then `inv sandbox.reset` if it is new), "
                         "and run the same command again")
    else:
        exc.next_step = "the sandbox has no app yet: `inv sandbox.up` then `inv sandbox.reset` (or `inv demo`, which does both and more)"
    return exc


def _is_sandbox(flags: str) -> bool:
    import shlex

    words = shlex.split(flags)
    value = {words[i]: words[i + 1] for i in range(0, len(words) - 1, 2)}
    try:
        from .config import load_config

        return bool(load_config(value.get("-i"), value.get("-p")).inventory.sandbox)
    except Exception:  # noqa: BLE001 - only a better hint was at stake
        return False


def _database_error() -> type[Exception]:
    import psycopg

    return psycopg.Error


def _translate_database_error(exc: Exception) -> PgRunbookError:
    """A database error no phase expected (a privilege, a dropped connection): said plainly."""
    import psycopg

    from .pg import error_message

    message = error_message(exc)
    if isinstance(exc, psycopg.errors.InsufficientPrivilege):
        hint = "run as a role with the privileges the message names (phase 1 only needs SELECT; migrate needs ownership)"
    elif isinstance(exc, psycopg.OperationalError):
        hint = "the connection was lost: check the server, then run the same command again (phases are idempotent)"
    else:
        hint = "run `inv verify` to see the database's state"
    return PgRunbookError(f"database error: {message}", changed="the transaction in progress was rolled back", next_step=hint)


def _present(as_json: bool, data: Callable[[], object], show: Callable[[], None], *, ok: bool) -> int:
    """JSON on stdout for machines, rich for humans; exit 0 when ok, 3 when a check failed."""
    from . import console

    if as_json:
        console.print_json(data())
    else:
        show()
    return EXIT_OK if ok else EXIT_CHECK


def verify(inventory: str | None, playbook: str | None, as_json: bool) -> int:
    def action() -> int:
        from . import commands, console
        from .config import load_config

        cfg = load_config(inventory, playbook)
        report = commands.verify(cfg, console.discard_if(as_json))
        return _present(as_json, lambda: report.as_json(), lambda: _then_recap(console.show_verify, report, cfg=cfg,
                                                                              flags=target_flags(inventory, playbook)), ok=report.ok)

    return guarded(action, target_flags(inventory, playbook))


def sandbox_up() -> int:
    def action() -> int:
        from . import console, sandbox

        c = sandbox.up()
        console.out.print(f"sandbox PostgreSQL 18 running on 127.0.0.1:{c.port} (data in {c.data_dir})")
        return EXIT_OK

    return guarded(action)


def sandbox_down(purge: bool) -> int:
    def action() -> int:
        from . import console, sandbox

        sandbox.down(purge=purge)
        console.out.print("sandbox stopped" + (" and its data deleted" if purge else " (data kept; --purge deletes it)"))
        return EXIT_OK

    return guarded(action)


def sandbox_reset(state: str, scale: int, drizzle: str = "0.45") -> int:
    def action() -> int:
        import time

        from . import console, sandbox

        started = time.monotonic()
        rows = sandbox.reset(state, scale=scale, drizzle=drizzle)  # type: ignore[arg-type]
        took = time.monotonic() - started
        console.out.print(f"sandbox database {sandbox.APP_DB} reset to state [bold]{state}[/] (drizzle {drizzle}, scale {scale}) "
                          f"in {took:.1f}s: "
                          + ", ".join(f"{t} {n}" for t, n in rows.items()))
        return EXIT_OK

    return guarded(action)


def backup(inventory: str | None, playbook: str | None, fmt: str | None, verify_restore: bool, as_json: bool, compress: str | None = None,
           *, run_id: str | None = None, new_run: bool = False) -> int:
    def action() -> int:
        from . import commands, console
        from .config import load_config

        cfg = load_config(inventory, playbook)
        with console.backup_view(as_json) as view:
            result = commands.backup(cfg, view, format=fmt, verify_restore=True if verify_restore else None, compress=compress,
                                     run_id=run_id, new_run=new_run)
        return _present(as_json, lambda: result.as_json(), lambda: _then_recap(console.show_backup, result, cfg=cfg,
                                                                              flags=target_flags(inventory, playbook)), ok=result.ok)

    return guarded(action, target_flags(inventory, playbook))


def backup_list(inventory: str | None, playbook: str | None, as_json: bool) -> int:
    def action() -> int:
        from . import commands, console
        from .config import load_config

        cfg = load_config(inventory, playbook)
        rows = commands.backup_list(cfg)
        if as_json:
            console.print_json({"dir": str(cfg.inventory.backup.dir), "backups": rows})
        else:
            console.show_backup_list(rows, cfg.inventory.backup.dir)
        return EXIT_OK

    return guarded(action, target_flags(inventory, playbook))


def backup_verify(inventory: str | None, playbook: str | None, ref: str, as_json: bool) -> int:
    def action() -> int:
        from . import commands, console
        from .config import load_config

        cfg = load_config(inventory, playbook)
        result = commands.backup_verify(cfg, ref, console.discard_if(as_json))
        return _present(as_json, lambda: result.as_json(), lambda: console.show_backup(result), ok=result.ok)

    return guarded(action, target_flags(inventory, playbook))


def analyze(inventory: str | None, playbook: str | None, *, baseline_until: str | None, only: str | None,
            online: bool, single_transaction: bool, sql: bool, as_json: bool) -> int:
    def action() -> int:
        from . import commands, console
        from .config import load_config

        report = commands.analyze(load_config(inventory, playbook), console.discard_if(as_json or sql),
                                  baseline_until=baseline_until, only=only, online=online, single_transaction=single_transaction)
        if as_json:
            console.print_json(report.as_json())
        elif sql:
            console.print_sql(report.sql)
        else:
            console.show_analysis(report)
        return EXIT_OK if report.ok else EXIT_CHECK

    return guarded(action, target_flags(inventory, playbook))


def gate(inventory: str | None, playbook: str | None, *, run_id: str | None, backup: str | None,
         baseline_until: str | None, only: str | None, as_json: bool, rehearse: bool = False, online: bool = False,
         new_run: bool = False) -> int:
    def action() -> int:
        from . import commands, console
        from .config import load_config

        run, decision = commands.gate(load_config(inventory, playbook), console.discard_if(as_json), run_id=run_id, new_run=new_run,
                                      backup_ref=backup, baseline_until=baseline_until, only=only, rehearse=rehearse, online=online)
        return _present(as_json, lambda: {"run": run.id, **decision.as_json()},
                        lambda: _then_recap(console.show_gate, run, decision, run=run, flags=target_flags(inventory, playbook)),
                        ok=decision.go)

    return guarded(action, target_flags(inventory, playbook))


def migrate(inventory: str | None, playbook: str | None, *, run_id: str | None, backup: str | None, online: bool,
            single_transaction: bool, dry_run: bool, yes: bool, baseline_until: str | None, only: str | None, as_json: bool,
            new_run: bool = False, verbose: bool = False, quiet: bool = False) -> int:
    def action() -> int:
        from . import commands, console
        from .config import load_config

        cfg = load_config(inventory, playbook)
        if dry_run:
            report = commands.analyze(cfg, console.discard_if(True), baseline_until=baseline_until, only=only,
                                      online=online, single_transaction=single_transaction)
            console.print_sql(report.sql)
            return EXIT_OK if report.ok else EXIT_CHECK
        level = console.verbosity(verbose, quiet)
        view = console.discard_if(True) if as_json else console.EventView(level)
        run, result = commands.migrate(cfg, view, run_id=run_id, new_run=new_run, backup_ref=backup, online=online,
                                       single_transaction=single_transaction, yes=yes, confirm=console.ask_database_name,
                                       baseline_until=baseline_until, only=only)
        if as_json:
            from .journal import MigrationEnded

            end = run.read().last(MigrationEnded)
            console.print_json({"run": run.id, **(end.data() if end else {})})
        else:
            _then_recap(console.show_migrate, run, result, run=run, flags=target_flags(inventory, playbook))
        return EXIT_OK

    return guarded(action, target_flags(inventory, playbook))


def validate(inventory: str | None, playbook: str | None, *, run_id: str | None, as_json: bool, new_run: bool = False) -> int:
    def action() -> int:
        from . import commands, console
        from .config import load_config

        run, report = commands.validate(load_config(inventory, playbook), console.discard_if(as_json), run_id=run_id, new_run=new_run)
        return _present(as_json, lambda: {"run": run.id, **report.as_json()},
                        lambda: _then_recap(console.show_validation, run, report, run=run, flags=target_flags(inventory, playbook)),
                        ok=report.ok)

    return guarded(action, target_flags(inventory, playbook))


def migrate_prod(inventory: str | None, playbook: str | None, *, resume: str | None, yes: bool, online: bool,
                 single_transaction: bool, as_json: bool, rehearse: bool | None = None, verbose: bool = False, quiet: bool = False) -> int:
    flags = target_flags(inventory, playbook)

    def action() -> int:
        from . import console
        from .config import load_config
        from .runner import ProdOptions, migrate_prod

        view = _run_view(as_json, verbose, quiet)
        options = ProdOptions(resume=resume, yes=yes, confirm=console.ask_database_name, online=online,
                              single_transaction=single_transaction, ask=console.ask_rollback, rehearse=rehearse,
                              on_end=None if as_json else _recap_printer("migrate-prod", flags, view))
        result = migrate_prod(load_config(inventory, playbook), view, options)
        return _show_prod(result, as_json)

    return guarded(action, flags)


def demo(break_it: bool, scale: int, as_json: bool, app: str = "command", drizzle: str = "0.45", *, verbose: bool = False,
         quiet: bool = False) -> int:
    """`inv demo`: the run's recap, then the exact commands to look at what it did (they need no -i:
    the default inventory is the sandbox the demo ran on), and what became of the API it started."""
    def action() -> int:
        from . import demo as tour

        view = _run_view(as_json, verbose, quiet)
        on_end = None if as_json else _recap_printer("migrate-prod", "", view, extra=lambda result: tour.tour_lines(result.run.id),
                                                     resume_flags=f" -i {tour.inventory_path()}")  # the demo's own: its API
        result = tour.run_demo(view, break_it=break_it, scale=scale, app_kind=app, drizzle=drizzle, on_end=on_end)
        if as_json:
            from . import console

            console.print_json({**result.as_json(), "look": list(tour.look_commands(result.run.id)), "api": tour.api_note()})
            return EXIT_OK if result.outcome == "ok" else EXIT_CHECK
        return EXIT_OK if result.outcome == "ok" else EXIT_CHECK

    return guarded(action)


def _then_recap(show, *args, run=None, cfg=None, flags: str = "") -> None:  # noqa: ANN001
    """A phase task's own output, then the recap of its run so far (the phases it has been
    through) and the next phase to run, with the user's -i/-p."""
    from . import console
    from .recap import build

    show(*args)
    if run is None:
        from .runs import list_runs

        found = list_runs(cfg.inventory.backup.dir, cfg.inventory.database.url.key)
        if not found:
            return
        run = found[0]
    journal = run.read()
    recap = build(journal, full_chain=False, next_step=_next_phase(journal, run.id, flags))
    console.show_recap(recap, label="run" if journal.is_closed else None)


def _next_phase(journal, run_id: str, flags: str) -> str:  # noqa: ANN001
    """What the runbook does after the last phase this run went through (empty: the error or the checks say it)."""
    from .journal import GateDecided

    ended = [p for p in journal.phases if p != "analyze"]
    last = ended[-1] if ended else ""
    if last == "verify" and journal.done("verify"):
        return f"`inv backup{flags}`"
    if last == "backup" and journal.done("backup"):
        return f"`inv analyze{flags}` to preview the plan, then `inv gate{flags}`"
    if last == "gate":
        decided = journal.last(GateDecided)
        return f"`inv migrate{flags}`" if decided is not None and decided.go else f"fix what the gate names, then `inv gate{flags}`"
    if last == "migrate" and journal.done("migrate"):
        return f"`inv validate -r {run_id}{flags}`"
    if last == "validate" and journal.done("validate"):
        return f"`inv report -r {run_id}{flags}`, then read and sign it"
    return ""


def _run_view(as_json: bool, verbose: bool, quiet: bool):
    """migrate-prod's and the demo's event handler: phase lines, one line per migration, warnings (-v: all, -q: none)."""
    from . import console
    from .events import discard

    level = console.verbosity(verbose, quiet)
    return discard if as_json else console.EventView(level, compact=True)


def _recap_printer(label: str, flags: str, view, extra=None, resume_flags: str | None = None):  # noqa: ANN001
    """The recap of a run that just ended (ok or not): printed before any error, so the error's
    `next:` is the last line; `next:` and the commands keep the user's -i/-p."""
    def on_end(result) -> None:  # noqa: ANN001
        from . import console
        from .recap import build

        if hasattr(view, "close"):
            view.close()
        recap = build(result.run.read(), next_step=_next_after(result, flags, resume_flags), reports=result.report_paths)
        console.show_recap(recap, label=label, extra=tuple(extra(result)) if extra else (),
                           error_follows=result.outcome not in ("ok", "warnings", "interrupted"))  # Ctrl-C's message has no next

    return on_end


def _next_after(result, flags: str, resume_flags: str | None = None) -> str:  # noqa: ANN001
    run = result.run.id
    if result.outcome == "interrupted":
        return f"`inv migrate-prod{flags if resume_flags is None else resume_flags} --resume {run}` continues it (phases done are skipped)"
    if result.outcome == "ok":
        return f"nothing left to run: read and sign the report (`inv report -r {run}{flags} --lang fr` for the French one)"
    if result.outcome == "warnings":
        return f"`inv validate -r {run}{flags}` shows what failed (no drift: nothing was rolled back)"
    return ""


def target_flags(inventory: str | None, playbook: str | None) -> str:
    """` -i X -p Y` as the user gave them (empty for the defaults): appended to every command we print."""
    import shlex

    return (f" -i {shlex.quote(inventory)}" if inventory else "") + (f" -p {shlex.quote(playbook)}" if playbook else "")


def _show_prod(result, as_json: bool) -> int:
    """Human output was the recap (printed when the run ended); JSON is the result with its recap."""
    from . import console

    if as_json:
        console.print_json(result.as_json())
    return EXIT_OK if result.outcome == "ok" else EXIT_CHECK


def report(inventory: str | None, playbook: str | None, *, run_id: str | None, lang: str, as_json: bool, as_html: bool = False) -> int:
    def action() -> int:
        from . import commands, console
        from .config import load_config
        from .errors import UsageError
        from .report import render_markdown, report_data, write_reports

        cfg = load_config(inventory, playbook)
        if lang not in ("en", "fr"):
            raise UsageError(f"--lang must be en or fr, not {lang!r}")
        if as_json and as_html:
            raise UsageError("--json and --html are two renderings: choose one")
        run = commands.report_run(cfg, run_id)
        paths = write_reports(cfg, run)
        if as_html:
            from .report_html import write_report

            page = write_report(cfg, run, lang)
            console.err.print(f"written: {', '.join(paths.values())}")
            console.out.print(page, soft_wrap=True, markup=False)  # the one line a script or a browser wants
        elif as_json:
            console.print_json(report_data(run, cfg))
        else:
            console.print_sql(render_markdown(report_data(run, cfg), lang))
            console.err.print(f"written: {', '.join(paths.values())}")
        return EXIT_OK

    return guarded(action, target_flags(inventory, playbook))


def rollback(inventory: str | None, playbook: str | None, *, full: bool, indexes_only: bool, backup: str | None, in_place: bool,
             run_id: str | None, dry_run: bool, yes: bool, as_json: bool, online: bool = False) -> int:
    """`inv rollback --full|--indexes-only`: exit 0 ok, 1 runtime failure, 2 usage, 3 counts/API differ after the restore."""
    def action() -> int:
        from . import commands, console
        from .config import load_config
        from .errors import UsageError

        if full == indexes_only:
            raise UsageError("say which rollback: exactly one of --full or --indexes-only",
                             next_step="`inv rollback --full --dry-run` shows the full plan; `inv rollback --indexes-only --run ID --dry-run` the other")
        if indexes_only and (backup or in_place or online):
            raise UsageError("--backup, --in-place and --online go with --full, not with --indexes-only")
        cfg = load_config(inventory, playbook)
        result = commands.rollback(cfg, console.discard_if(as_json), full=full, backup_ref=backup, in_place=in_place, run_id=run_id,
                                   yes=yes, confirm=console.ask_database_name, dry_run=dry_run, online=online)
        return _present(as_json, lambda: result.as_json(), lambda: console.show_rollback(result), ok=result.ok)

    return guarded(action, target_flags(inventory, playbook))


def runs(inventory: str | None, playbook: str | None, *, as_json: bool, as_html: bool = False, lang: str = "en") -> int:
    def action() -> int:
        from . import commands, console
        from .config import load_config
        from .errors import UsageError

        if lang not in ("en", "fr"):
            raise UsageError(f"--lang must be en or fr, not {lang!r}")
        cfg = load_config(inventory, playbook)
        if as_html:
            from .folders import ensure_private
            from .report_html import write_history
            from .runs import RUNS

            rows = commands.runs_history(cfg)
            folder = cfg.inventory.backup.dir / RUNS
            ensure_private(folder)
            page = write_history(folder, rows, lang, str(cfg.inventory.database.url))
            if as_json:
                console.print_json({"html": page, "runs": rows})
            else:
                console.show_runs(rows)
                console.out.print(page, soft_wrap=True, markup=False)
            return EXIT_OK
        rows = commands.runs_list(cfg)
        return _present(as_json, lambda: rows, lambda: console.show_runs(rows), ok=True)

    return guarded(action, target_flags(inventory, playbook))


def runs_show(inventory: str | None, playbook: str | None, run_id: str, *, as_json: bool) -> int:
    def action() -> int:
        from . import commands, console
        from .config import load_config
        from .runs import open_run

        cfg = load_config(inventory, playbook)
        run = open_run(cfg.inventory.backup.dir, run_id)
        summary = commands.run_summary(run)
        records = [r.line(run.id) for r in run.read().records]
        return _present(as_json, lambda: {**summary, "records": records}, lambda: console.show_run(summary, records), ok=True)

    return guarded(action, target_flags(inventory, playbook))


# --------------------------------------------------------------------------- fleets (pgrunbook.fleet)


def _fleet(inventory: str | None, playbook: str | None):
    from .errors import UsageError
    from .fleet.inventory import load_fleet

    if not inventory:
        raise UsageError("a fleet task needs its fleet inventory: -i FLEET.yml",
                         next_step="copy inventory/fleet.example.yml, adapt it, then `inv fleet.verify -i inventory/fleet.yml`")
    return load_fleet(inventory, playbook)


def fleet_migrate_prod(inventory: str | None, playbook: str | None, *, resume: str | None, yes: bool, online: bool,
                       single_transaction: bool, rehearse: bool | None, as_json: bool) -> int:
    """Exit 0: every target ok; 3: the fleet stopped (canary, budget, on_failure: stop); 4: it went through with failed targets."""
    def action() -> int:
        from . import console
        from .fleet.rollout import FleetOptions, migrate_prod

        options = FleetOptions(resume=resume, yes=yes, confirm=console.ask_fleet_name, ask_wave=console.ask_wave,
                               online=online, single_transaction=single_transaction, rehearse=rehearse)
        return _fleet_outcome(migrate_prod(_fleet(inventory, playbook), console.discard_if(as_json), options), as_json)

    return guarded(action)


def fleet_verify(inventory: str | None, playbook: str | None, *, as_json: bool) -> int:
    """Exit 0: every tenant verified and no drift between them; 3 otherwise."""
    def action() -> int:
        from . import console
        from .fleet.rollout import verify

        data = verify(_fleet(inventory, playbook), console.discard_if(as_json))
        ok = data["consistent"] and all(t["ok"] for t in data["targets"])
        return _present(as_json, lambda: data, lambda: console.show_fleet_verify(data), ok=ok)

    return guarded(action)


def fleet_status(inventory: str | None, playbook: str | None, *, run_id: str | None, as_json: bool, as_html: bool = False) -> int:
    def action() -> int:
        from . import console
        from .fleet.rollout import status

        data = status(_fleet(inventory, playbook), run_id)
        if as_html:
            from .fleet.report_html import write_fleet_report

            data["html"] = write_fleet_report(data)
            if not as_json:
                console.err.print(f"written: {data['html']}")
        return _present(as_json, lambda: data, lambda: console.show_fleet(data), ok=True)

    return guarded(action)


def _fleet_outcome(result, as_json: bool) -> int:  # noqa: ANN001 - a fleet.rollout.FleetResult
    """Render a fleet rollout; exit 0 every target ok, 3 the fleet stopped, 4 it went through with failed targets."""
    from . import console

    if as_json:
        console.print_json(result.as_json())
    else:
        console.show_fleet(result.as_json())
    return {"ok": EXIT_OK, "stopped": EXIT_CHECK}.get(result.outcome, EXIT_ROLLED_BACK)


def fleet_demo(as_json: bool) -> int:
    """`inv demo --fleet`: exit 4, as `inv demo --break`: one tenant rolled back, the others migrated."""
    def action() -> int:
        from . import console
        from .fleet.demo import run_fleet_demo

        return _fleet_outcome(run_fleet_demo(console.discard_if(as_json)), as_json)

    return guarded(action)
