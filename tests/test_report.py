"""The signable report (issue 14, item 4), from real journals: a header table, the real duration,
blank signature lines with pgrunbook's own decision on its own line, the rollback's state and kept
database, the post-migration backup, every field of the seed's template, and each language
entirely in its own words. Where a journal lacks a figure the report says "—", never crashes.

The journals in tests/data/journals/ are real: `inv demo` (demo_ok) and `inv demo --break`
(demo_rolled_back) on the sandbox, their paths moved under /srv/sandbox. No server is needed.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from pgrunbook.journal import MigrationStopped, RunFailed, encode
from pgrunbook.report import (TEMPLATES, checklist, human_duration, human_size, human_time, render_markdown, report_data, run_metrics,
                              timeline)
from pgrunbook.runs import Run

DATA = Path(__file__).parent / "data"
JOURNALS = DATA / "journals"
OK_RUN, ROLLED_BACK_RUN = "20261202_151543_9d8543", "20261202_151628_0691fd"
KEPT_DB = "htf_sunup_db_before_rollback_20261202_151630"


def run_from(tmp_path: Path, source: Path, run_id: str, *, lines: int | None = None, extra: list[bytes] = ()) -> Run:
    """A run folder holding a copy of `source` (its first `lines` lines, then `extra` records)."""
    folder = tmp_path / "runs" / run_id
    folder.mkdir(parents=True)
    text = source.read_text(encoding="utf-8").splitlines(keepends=True)
    with open(folder / "journal.jsonl", "wb") as out:
        out.write("".join(text[:lines]).encode())
        for line in extra:
            out.write(line)
    return Run(run_id, folder)


@pytest.fixture
def ok_run(tmp_path) -> Run:
    return run_from(tmp_path, JOURNALS / "demo_ok.jsonl", OK_RUN)


@pytest.fixture
def rolled_back_run(tmp_path) -> Run:
    return run_from(tmp_path, JOURNALS / "demo_rolled_back.jsonl", ROLLED_BACK_RUN)


# --------------------------------------------------------------------------- human units


@pytest.mark.parametrize(("size", "lang", "text"), [
    (None, "en", "—"), (0, "en", "0 B"), (1023, "en", "1023 B"), (53657, "en", "52.4 KiB"), (53657, "fr", "52,4 Kio"),
    (5 * 1024 ** 3, "en", "5.0 GiB"), (3 * 1024 ** 2 + 1, "fr", "3,0 Mio"),
])
def test_sizes_are_binary_units_labelled_as_such(size, lang, text):
    assert human_size(size, lang) == text


@pytest.mark.parametrize(("seconds", "lang", "text"), [
    (None, "en", "—"), (0.04, "en", "0.0 s"), (3.4, "en", "3.4 s"), (3.4, "fr", "3,4 s"), (59.96, "en", "1 min 00 s"),
    (125, "en", "2 min 05 s"), (3599.6, "fr", "1 h 00 min"), (3720, "en", "1 h 02 min"),
])
def test_durations_are_human_never_zero_minutes(seconds, lang, text):
    assert human_duration(seconds, lang) == text


def test_dates_are_iso_in_utc():
    assert human_time("2026-12-02T15:15:43.180+00:00") == "2026-12-02 15:15:43 UTC"
    assert human_time("2026-12-02T16:15:43+01:00") == "2026-12-02 15:15:43 UTC"
    assert human_time("") == human_time(None) == "—"


# --------------------------------------------------------------------------- a run that succeeded


def test_the_header_is_a_table_with_the_real_duration(ok_run):
    fr = render_markdown(report_data(ok_run), "fr")
    en = render_markdown(report_data(ok_run), "en")
    assert fr.splitlines()[0] == "# Rapport de Migration Performance"
    for line in (f"| Run | `{OK_RUN}` |", "| --- | --- |", "| Date | 2026-12-02 15:15:43 UTC |", "| Exécuté par | root@vm, avec pgrunbook |",
                 "| Durée totale | 3,4 s |", "| Cible | `postgres@127.0.0.1:58713/htf_sunup_db` |", "| Environnement | — |",
                 "| Fin | 2026-12-02 15:15:46 UTC |", "| Résultat | **réussi** |"):
        assert line in fr.splitlines(), line
    assert "| Total duration | 3.4 s |" in en and "| Run by | root@vm, with pgrunbook |" in en
    assert "minutes" not in fr and "minutes" not in en  # the seed's "0.0 minutes" of a 3-second run


def test_signatures_are_left_blank_and_the_decision_has_its_own_line(ok_run):
    data = report_data(ok_run)
    for lang, technical, validation, decision in (
            ("fr", "**Technique :**", "**Validation :**", "**Décision de pgrunbook (automatique) :** GO : migration appliquée et validée"),
            ("en", "**Technical:**", "**Validation:**", "**pgrunbook's decision (automatic):** GO: migration applied and validated")):
        text = render_markdown(data, lang)
        signatures = text[text.index("## Signatures"):]
        lines = [line for line in signatures.splitlines() if line.startswith((technical, validation))]
        assert len(lines) == 2
        for line in lines:
            assert "root@vm" not in line and "GO" not in line and OK_RUN not in line  # nothing filled by the machine
            assert line.count("....") >= 3  # name, date, signature: room for a pen
        assert decision in text.splitlines()
        assert text.index(decision) < text.index("## Signatures")


def test_every_field_of_the_seeds_template(ok_run):
    """The seed's "Template de Rapport" (and its final checklist), field by field, filled."""
    fr = render_markdown(report_data(ok_run), "fr")
    for field in ("# Rapport de Migration Performance", "| Date |", "| Exécuté par |", "| Durée totale |",
                  "## État Avant Migration", "- Utilisateurs managers : **8**", "- Utilisateurs FBOs : **60**",
                  "- Total utilisateurs : **68**", "- Indexes existants : **23**", "- Migrations Drizzle : **0**",
                  "## Backup", "- Fichier : `htf_sunup_db_prod_backup_20261202_151543.dump`", "- Taille : **52,4 Kio**",
                  "- Localisations sécurisées :", "  - [x] second-disk :", "  - [x] offsite :",
                  "## Migrations Appliquées", "- [x] 0011_add_performance_indexes.sql", "- [x] Autres : baseline de 11 migration(s)",
                  "## État Après Migration", "- Utilisateurs managers : **8** (doit être identique) ✅",
                  "- Utilisateurs FBOs : **60** (doit être identique) ✅", "- Total utilisateurs : **68** (doit être identique) ✅",
                  "- Indexes créés : **43**", "- Migrations Drizzle : **12**",
                  "## Tests de Validation", "- [x] Login fonctionnel", "- [x] GET /api/users/all-members : **2,7 ms**",
                  "- [x] GET /api/campaigns : **1,9 ms**", "- [x] Données cohérentes",
                  "## Problèmes Rencontrés", "_Aucun_",
                  "## Décision Finale", "- [x] ✅ Migration réussie - Mise en production",
                  "- [ ] ⚠️ Migration réussie avec warnings - Surveillance", "- [ ] ❌ Rollback effectué - Analyse requise",
                  "## Signatures", "**Technique :**", "**Validation :**",
                  "## Checklist Finale", "- [x] Backup créé et sécurisé (minimum 2 endroits) : le fichier et 2 copie(s) vérifiée(s)",
                  "- [x] Migrations appliquées sans erreur", "- [x] Nombre d'utilisateurs IDENTIQUE avant/après",
                  "- [x] Endpoints API testés et fonctionnels", "- [x] Performance dans le budget",
                  "- [x] Rapport de migration rempli", "- [x] Backup de post-migration créé",
                  "- Backup de post-migration : `htf_sunup_db_prod_backup_20261202_151546.dump`, **67,7 Kio**, 2 copie(s) vérifiée(s) sur 2"):
        assert field in fr, field
    assert "___" not in fr and "**\\_**" not in fr and "non mesuré" not in fr


def test_role_labels_have_no_typo(ok_run):
    en = render_markdown(report_data(ok_run), "en")
    assert "- FBO users: **60**" in en and "- Manager users: **8**" in en
    assert "FBOs users" not in en and "managers users" not in en


# --------------------------------------------------------------------------- a run that rolled back


def test_a_rolled_back_run_is_not_go_and_says_what_the_rollback_left(rolled_back_run):
    data = report_data(rolled_back_run)
    assert data["outcome"] == "rolled-back" and data["gate"]["decision"] == "GO"
    rollback = data["rollback"]
    assert rollback["status"] == "ok" and rollback["mode"] == "full" and rollback["decided"] == "auto"
    assert rollback["kept_db"] == KEPT_DB and rollback["backup"] == "htf_sunup_db_prod_backup_20261202_151628"
    users = next(t for t in rollback["tables"] if t["table"] == "public.users")
    assert users == {"table": "public.users", "manifest": 68, "replaced": 69, "after": 68, "matches": True}
    fr, en = render_markdown(data, "fr"), render_markdown(data, "en")
    assert "**Décision de pgrunbook (automatique) :** ROLLBACK : la migration a été annulée (le gate avait donné GO avant la migration)" in fr
    assert "**pgrunbook's decision (automatic):** ROLLBACK: the migration was undone (the gate had said GO before the migration)" in en
    for text in (fr, en):
        assert not re.search(r"(automatique|automatic\)?):?\*?\*? ?:? GO\b", text)  # never a bare GO on a rolled-back run
        assert f"`{KEPT_DB}`" in text and "| `public.users` | 68 | 69 | 68 | ✅ = backup |" in text
        assert "- [x] ❌ Rollback" in text
    assert "| Base conservée | `" + KEPT_DB + "` (l'ancienne base, renommée, jamais supprimée) |" in fr
    assert "| Kept database | `" + KEPT_DB + "` (the previous database, renamed, never dropped) |" in en
    assert "| Durée | 3,6 s ; application arrêtée pendant 2,8 s |" in fr
    assert "- Lignes écrites après le backup, conservées dans `" + KEPT_DB + "` : `drizzle.__drizzle_migrations` +12, `public.users` +1 ; ids de `public.users` : 69" in fr
    assert "- Backup de post-migration : aucun dans ce run" in fr and "- [ ] Backup de post-migration créé" in fr


# --------------------------------------------------------------------------- each language in its own words


def _template_words(lang: str) -> set[str]:
    """The words a template writes itself: its text and the string literals of its expressions, code spans left out."""
    source = (TEMPLATES / f"report.{lang}.md.j2").read_text(encoding="utf-8")
    tags = re.findall(r"\{%.*?%\}|\{\{.*?\}\}", source, flags=re.S)
    text = re.sub(r"\{%.*?%\}|\{\{.*?\}\}", " ", source, flags=re.S)
    literals = " ".join(re.findall(r'"([^"]*)"', " ".join(tags)))
    return {w.lower() for w in re.findall(r"[A-Za-zÀ-ÿœ']{3,}", re.sub(r"`[^`]*`", " ", text + " " + literals))}


def _prose_words(markdown: str) -> set[str]:
    """The words of a rendered report outside code spans (journal text, paths, ids) and identifiers (tags, names)."""
    prose = re.sub(r"`[^`]*`", " ", markdown)
    words = set()
    for token in prose.split():
        token = token.strip("*()[]|,;:!?.…")
        if any(c in token for c in "_/-.@0123456789"):
            continue
        words.update(w.lower() for w in re.findall(r"[A-Za-zÀ-ÿœ']{3,}", token))
    return words


@pytest.mark.parametrize("journal", ["demo_ok", "demo_rolled_back", "format1", "open", "stopped"])
def test_french_is_entirely_french_and_english_entirely_english(tmp_path, journal):
    if journal == "stopped":
        run = _stopped_run(tmp_path)
    elif journal == "format1":
        run = run_from(tmp_path, DATA / "journal_format1.jsonl", "x")
    else:
        run = run_from(tmp_path, JOURNALS / f"{'demo_ok' if journal == 'open' else journal}.jsonl", "x",
                       lines=8 if journal == "open" else None)
    data = report_data(run)
    en_words, fr_words = _template_words("en"), _template_words("fr")
    only_en, only_fr = en_words - fr_words, fr_words - en_words
    assert {"users", "before", "after", "identical", "succeeded"} <= only_en and {"utilisateurs", "avant", "après"} <= only_fr
    assert not (_prose_words(render_markdown(data, "fr")) & only_en)
    assert not (_prose_words(render_markdown(data, "en")) & only_fr)


# --------------------------------------------------------------------------- what the journal lacks


def _stopped_run(tmp_path: Path) -> Run:
    """A run whose migration failed halfway and that nobody rolled back yet: still open, no validation, no duration."""
    lines = (JOURNALS / "demo_ok.jsonl").read_text().splitlines()
    until = next(i for i, line in enumerate(lines) if '"phase": "migrate", "event": "start"' in line) + 1
    ts = json.loads(lines[until - 1])["ts"].replace("45.752", "46.500")
    stop = dataclasses.replace(MigrationStopped(status="failed", error='column "nope" does not exist', committed=(),
                                                planned=("0011_add_performance_indexes",)), ts=ts)
    failed = dataclasses.replace(RunFailed(status="failed", error="migration failed", next_step="inv rollback --full"), ts=ts)
    return run_from(tmp_path, JOURNALS / "demo_ok.jsonl", "stopped", lines=until, extra=[encode(stop, "stopped"), encode(failed, "stopped")])


def test_older_failed_and_open_runs_render_with_dashes_never_crash(tmp_path):
    empty = run_from(tmp_path, JOURNALS / "demo_ok.jsonl", "empty", lines=0)  # a run folder whose first record never landed
    assert "| Target | — |" in render_markdown(report_data(empty), "en")
    format1 = run_from(tmp_path, DATA / "journal_format1.jsonl", "format1")
    still_open = run_from(tmp_path, JOURNALS / "demo_ok.jsonl", "open", lines=8)  # up to the gate: no migration yet
    stopped = _stopped_run(tmp_path)
    for run in (empty, format1, still_open, stopped):
        data = report_data(run)
        for lang in ("fr", "en"):
            text = render_markdown(data, lang)
            assert not re.search(r"(?<!_)\bNone\b(?!_)|\{\{|\{%", text), (run.id, lang)  # no Python None, no template left
    open_fr = render_markdown(report_data(still_open), "fr")
    assert "| Durée totale | — (run pas encore clos) |" in open_fr and "| Résultat | **en cours** |" in open_fr
    assert "**Décision de pgrunbook (automatique) :** aucune : run en cours" in open_fr
    assert "- Post-migration backup: none in this run" in render_markdown(report_data(still_open), "en")
    stopped_en = render_markdown(report_data(stopped), "en")
    assert "- ❌ Migration stopped (failed): `column \"nope\" does not exist`; committed before it stopped: none" in stopped_en
    assert "- [ ] Consistent data: not checked (validation did not run)" in stopped_en
    assert "| Outcome | **failed** |" in stopped_en
    old = render_markdown(report_data(format1), "en")
    assert "| Total duration | 1 min 00 s |" in old and "- Size: **1.0 MiB**" in old and "| Run by | ops@bastion, with pgrunbook |" in old


# --------------------------------------------------------------------------- the figures the charts draw


def test_timeline_places_each_phase_and_what_was_down(ok_run, rolled_back_run):
    ok = timeline(ok_run.read())
    assert [p["phase"] for p in ok["phases"]] == ["verify", "backup", "analyze", "gate", "migrate", "validate", "post-backup"]
    assert all(p["status"] in ("ok", "go") for p in ok["phases"]) and ok["total"] == pytest.approx(3.41, abs=0.01)
    assert all(0 <= p["start"] <= p["end"] <= ok["total"] for p in ok["phases"])
    migrate = next(p for p in ok["phases"] if p["phase"] == "migrate")
    assert ok["down"] == [{"what": "writes", "start": migrate["start"], "end": migrate["end"]}]  # not --online
    rb = timeline(rolled_back_run.read())
    assert next(p for p in rb["phases"] if p["phase"] == "validate")["status"] == "failed"
    app = next(d for d in rb["down"] if d["what"] == "app")
    assert app["restarted"] and app["end"] - app["start"] == pytest.approx(2.765, abs=0.01)  # stop-app → app-started


def test_history_metrics_and_the_final_checklist(ok_run, rolled_back_run, tmp_path):
    m = run_metrics(ok_run.read())
    assert m["backup_size"] == 53657 and m["backup_seconds"] == pytest.approx(0.184, abs=0.002)
    assert m["migration_seconds"] == pytest.approx(0.27, abs=0.1)
    assert set(m["api_p95_after"]) == {"/api/users/all-members", "/api/campaigns"} and m["api_budget"]["/api/campaigns"] == 100.0
    old = run_metrics(run_from(tmp_path, DATA / "journal_format1.jsonl", "old").read())
    assert old["backup_seconds"] is None and old["api_p95_after"] == {}  # its backup has no start record, no API
    assert checklist(report_data(ok_run)) == {"backup_secured": True, "migrations_ok": True, "indexes_created": False,  # no playbook here
                                              "users_identical": True, "api_tested": True, "performance": True, "report": True,
                                              "post_backup": True}
    rolled = checklist(report_data(rolled_back_run))
    assert not rolled["users_identical"] and not rolled["post_backup"]


def test_a_run_rolled_back_later_by_inv_rollback_says_so_both_ways(tmp_path, ok_run):
    """`inv rollback --full` after a closed run is a run of its own (`rolls_back`): each report names the other."""
    lines = [json.loads(line) for line in (JOURNALS / "demo_rolled_back.jsonl").read_text().splitlines()]
    opened = {**lines[0], "run": "later", "ts": "2026-12-02T16:00:00.000+00:00",
              "data": {**lines[0]["data"], "kind": "rollback", "rolls_back": OK_RUN}}
    steps = [{**r, "run": "later"} for r in lines if r["phase"] == "rollback" and r["event"] in ("start", "step", "end")]
    closed = {**lines[-1], "run": "later", "status": "rolled-back", "data": {"reason": "rollback (full)", "seconds": 3.6}}
    folder = tmp_path / "runs" / "later"
    folder.mkdir(parents=True)
    (folder / "journal.jsonl").write_text("".join(json.dumps(r) + "\n" for r in [opened, *steps, closed]))
    later = Run("later", folder)

    original = render_markdown(report_data(ok_run), "en")
    assert f"| Rolled back later by | run `later` (undone by a rollback); kept database `{KEPT_DB}` |" in original
    assert "- [ ] ✅ Migration succeeded - In production" in original and "- [x] ❌ Rollback performed" in original
    assert "**pgrunbook's decision (automatic):** GO: migration applied and validated; then undone by run `later`" in original
    rollback = render_markdown(report_data(later), "fr")
    assert f"| Annule le run | `{OK_RUN}` |" in rollback and "| Décidé | à la main (`inv rollback`) |" in rollback
    assert f"| Base conservée | `{KEPT_DB}` (l'ancienne base, renommée, jamais supprimée) |" in rollback
    assert "**Décision de pgrunbook (automatique) :** ROLLBACK : la migration a été annulée" in rollback


def test_a_migration_that_ran_nothing_blocked_nothing(tmp_path):
    """A baseline only (rows recorded, no statement run): no "writes blocked" span, no CONCURRENTLY claim."""
    lines = [json.loads(line) for line in (JOURNALS / "demo_ok.jsonl").read_text().splitlines()]
    for r in lines:
        if (r["phase"], r["event"]) == ("migrate", "end"):
            r["data"].update(applied=[], statements=[], created_indexes=[], nothing_to_do=False)
    folder = tmp_path / "runs" / "baseline"
    folder.mkdir(parents=True)
    (folder / "journal.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    run = Run("baseline", folder)
    assert timeline(run.read())["down"] == []
    text = render_markdown(report_data(run), "en")
    assert "CONCURRENTLY" not in text and "- [ ] no migration applied" in text
