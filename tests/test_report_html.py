"""The HTML report and the run history (issue 14, item 4): one file each, no network, no script,
charts inline as SVG with their titles and labels as text; rendered in a real headless Chromium
(Debian's `chromium`, installed by .ci/run), whose DOM must hold the headings and the charts and
whose screenshot must be a page, not a blank.

The pages are drawn once per module from the real journals of tests/data/journals/.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pgrunbook.report import report_data, run_metrics
from pgrunbook.report_html import render_history, render_report, users_svg, write_history

from .test_report import DATA, JOURNALS, KEPT_DB, OK_RUN, ROLLED_BACK_RUN, run_from


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("html")
    ok = run_from(root, JOURNALS / "demo_ok.jsonl", OK_RUN)
    rolled = run_from(root, JOURNALS / "demo_rolled_back.jsonl", ROLLED_BACK_RUN)
    old = run_from(root, DATA / "journal_format1.jsonl", "20261125_161000_abcdef")
    out = {}
    out["ok_en"] = root / "ok.en.html"
    out["ok_en"].write_text(render_report(report_data(ok), "en"), encoding="utf-8")
    out["rolled_fr"] = root / "rolled.fr.html"
    out["rolled_fr"].write_text(render_report(report_data(rolled), "fr"), encoding="utf-8")
    out["old_en"] = root / "old.en.html"
    out["old_en"].write_text(render_report(report_data(old), "en"), encoding="utf-8")
    rows = [{"id": r.id, "started": r.read().records[0].ts, "kind": r.read().opened.kind, "outcome": r.read().outcome,
             "seconds": r.read().duration_seconds(), "metrics": run_metrics(r.read())} for r in (ok, rolled, old)]
    out["history"] = Path(write_history(root / "runs", rows, "en", "postgres@127.0.0.1:58713/htf_sunup_db"))
    return out


# --------------------------------------------------------------------------- the files themselves


def test_one_file_no_network_no_script(pages):
    for name, path in pages.items():
        text = path.read_text(encoding="utf-8")
        assert text.startswith("<!DOCTYPE html>") and "<style>" in text, name
        assert "<script" not in text.lower() and "<link" not in text.lower() and "@import" not in text, name
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", text) and "url(http" not in text, name
        assert path.stat().st_mode & 0o777 == 0o600 or name != "history", name  # the history is written private


def test_the_report_holds_the_markdown_report_and_four_charts(pages):
    text = pages["rolled_fr"].read_text(encoding="utf-8")
    assert '<html lang="fr">' in text and "<h1>Rapport de Migration Performance</h1>" in text
    for chart in ("timeline", "users", "latency", "backups"):
        figure = re.search(rf'<figure class="chart[^"]*" id="chart-{chart}">(.*?)</figure>', text, flags=re.S)
        assert figure and "<svg" in figure.group(1) and "<title>" in figure.group(1), chart
    assert text.index('id="charts"') < text.index("État Avant Migration")  # after the header table, before the details
    for label in ("application arrêtée", "écritures bloquées (sans CONCURRENTLY)", "budget 100 ms", "FBOs", "managers",
                  "2 copie(s) vérifiée(s) sur 2", "52,4 Kio", "secondes depuis le début du run"):
        assert label in text, label  # chart text is text (svg.fonttype none), in the page's language
    assert KEPT_DB in text and "☑" in text and "☐" in text
    assert "✅" not in text and "❌" not in text and '<span class="bad">✘</span>' in text  # no emoji font needed


def test_a_figure_the_journal_lacks_is_said_missing_not_drawn_as_zero(pages):
    text = pages["old_en"].read_text(encoding="utf-8")
    latency = re.search(r'id="chart-latency">(.*?)</figure>', text, flags=re.S).group(1)
    assert "<svg" not in latency and "— not measured in this run" in latency  # a format-1 run without API figures
    assert "<svg" in re.search(r'id="chart-users">(.*?)</figure>', text, flags=re.S).group(1)


def test_matplotlib_is_imported_only_to_draw():
    """`inv --list`, `inv report` without --html and every other task never pay for matplotlib."""
    import sys

    probe = "import sys, pgrunbook.report_html, pgrunbook.report; print('matplotlib' in sys.modules, 'markdown_it' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.split() == ["False", "False"]


def test_charts_are_deterministic(tmp_path):
    data = report_data(run_from(tmp_path, JOURNALS / "demo_ok.jsonl", "x"))
    assert users_svg(data, "en") == users_svg(data, "en")


def test_history_plots_backup_migration_and_api_across_runs(pages):
    text = pages["history"].read_text(encoding="utf-8")
    assert pages["history"].name == "history.en.html"
    for chart in ("history-backup", "history-migration", "history-api"):
        assert re.search(rf'id="chart-{chart}">\s*<figcaption>[^<]+</figcaption>\s*<svg', text), chart
    rows = re.findall(r"<tr><td><code>([^<]+)</code>", text)
    assert rows == [ROLLED_BACK_RUN, OK_RUN, "20261125_161000_abcdef"]  # newest first, as `inv runs`
    assert "52.4 KiB" in text and "1.0 MiB" in text and "/api/users/all-members" in text
    assert "<p>No run yet.</p>" in render_history([], "en")


# --------------------------------------------------------------------------- in a real browser


def chromium() -> str:
    found = shutil.which("chromium")
    assert found, "Debian's chromium is needed (installed by .ci/run: apt-get install chromium)"
    return found


def browse(page: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """Headless Chromium on a file:// URL: no sandbox (root in CI), no GPU, its own profile, no network needed."""
    return subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path / 'profile'}",
                           "--no-first-run", "--window-size=1200,2000", *args, page.as_uri()],
                          capture_output=True, text=True, timeout=180)


@pytest.mark.integration
@pytest.mark.parametrize("name", ["rolled_fr", "history"])
def test_chromium_renders_the_headings_and_the_charts(pages, tmp_path, name):
    done = browse(pages[name], tmp_path, "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    if name == "rolled_fr":
        headings = ["Rapport de Migration Performance", "En un coup d'œil", "État Avant Migration", "Backup", "Rollback",
                    "Checklist Finale", "Décision Finale", "Signatures"]
        titles = ["Chronologie du run : les phases, et ce qui était arrêté quand", "Utilisateurs par rôle, avant / après",
                  "Latence de l'API (p95) avant / après, face au budget", "Backups : taille et copies vérifiées"]
    else:
        headings = ["Run history"]
        titles = ["Backup size and duration per run", "Migration duration per run",
                  "API p95 after each run's migration, against the budget"]
    found = [re.sub("<[^>]+>", "", h) for h in re.findall(r"<h[12][^>]*>(.*?)</h[12]>", dom, flags=re.S)]
    for heading in headings:
        assert heading in found, (heading, found)
    svgs = re.findall(r"<svg\b.*?</svg>", dom, flags=re.S)
    assert len(svgs) == len(titles)
    for svg, title in zip(svgs, titles):
        assert f"<title>{title.replace(chr(39), '&#x27;')}</title>" in svg or f"<title>{title}</title>" in svg, title
        assert svg.count("<text") + svg.count("<path") > 10  # drawn, not an empty frame


@pytest.mark.integration
def test_chromium_screenshot_is_a_page_not_a_blank(pages, tmp_path):
    from PIL import Image

    shot = tmp_path / "report.png"
    done = browse(pages["rolled_fr"], tmp_path, f"--screenshot={shot}")
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    assert shot.stat().st_size > 40_000
    with Image.open(shot) as image:
        assert image.size == (1200, 2000)
        rgb = image.convert("RGB")
        colors = rgb.getcolors(maxcolors=1 << 20)
        assert len(colors) > 200  # text, bars, hatching: not a blank page
        blue = sum(n for n, c in colors if abs(c[0] - 0x15) < 12 and abs(c[1] - 0x65) < 12 and abs(c[2] - 0xc0) < 12)
        assert blue > 2_000  # the "after" bars and the title rule are painted (#1565c0)
