"""The loader reads a drizzle folder exactly as drizzle-orm's migrator does."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from pgrunbook.drizzle import load_migrations
from pgrunbook.errors import ConfigError


def make_folder(root: Path, files: dict[str, bytes], entries: list[dict]) -> Path:
    (root / "meta").mkdir(parents=True)
    (root / "meta" / "_journal.json").write_text(json.dumps({"version": "7", "dialect": "postgresql", "entries": entries}))
    for name, body in files.items():
        (root / name).write_bytes(body)
    return root


def entry(idx: int, tag: str, when: int) -> dict:
    return {"idx": idx, "version": "7", "when": when, "tag": tag, "breakpoints": True}


def test_hash_is_sha256_of_the_file_as_read(tmp_path):
    body = b'CREATE TABLE "a" ("id" serial);\n--> statement-breakpoint\nCREATE INDEX "i" ON "a" ("id");\n'
    local = load_migrations(make_folder(tmp_path, {"0000_a.sql": body}, [entry(0, "0000_a", 1000)]))
    (m,) = local.entries
    assert m.hash == hashlib.sha256(body).hexdigest()
    assert len(m.chunks()) == 2 and m.when == 1000


def test_crlf_file_keeps_drizzles_hash_and_knows_its_lf_twin(tmp_path):
    lf = b"SELECT 1;\n--> statement-breakpoint\nSELECT 2;\n"
    crlf = lf.replace(b"\n", b"\r\n")
    (m,) = load_migrations(make_folder(tmp_path, {"0000_a.sql": crlf}, [entry(0, "0000_a", 1)])).entries
    assert m.hash == hashlib.sha256(crlf).hexdigest()
    assert hashlib.sha256(lf).hexdigest() in m.line_ending_hashes


def test_files_outside_the_journal_and_entries_without_file(tmp_path):
    local = load_migrations(make_folder(
        tmp_path, {"0000_a.sql": b"SELECT 1;", "0002_orphan.sql": b"SELECT 2;"},
        [entry(0, "0000_a", 1), entry(1, "0001_gone", 2)],
    ))
    assert [m.tag for m in local.entries] == ["0000_a"]
    assert local.files_not_in_journal == ("0002_orphan.sql",)
    assert local.entries_without_file == ("0001_gone",)


def test_missing_folder_and_journal(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_migrations(tmp_path / "nope")
    with pytest.raises(ConfigError, match="journal not found"):
        load_migrations(tmp_path)


def test_malformed_journal_names_line(tmp_path):
    (tmp_path / "meta").mkdir()
    (tmp_path / "meta" / "_journal.json").write_text('{\n  "entries": [\n    {"tag": }\n  ]\n}')
    with pytest.raises(ConfigError) as exc:
        load_migrations(tmp_path)
    assert "_journal.json:3:" in str(exc.value)


def test_entry_with_wrong_types(tmp_path):
    make_folder(tmp_path, {}, [{"idx": 0, "when": "yesterday", "tag": "0000_a"}])
    with pytest.raises(ConfigError, match=r"entries\[0\].when must be a int"):
        load_migrations(tmp_path)


def test_a_non_utf8_file_is_hashed_as_drizzle_reads_it_and_knows_where_it_breaks(tmp_path):
    """Issue 11.10: drizzle reads files as UTF-8 (invalid bytes become U+FFFD) and hashes that text."""
    raw = b'CREATE INDEX IF NOT EXISTS "idx_a" ON "users" ("email");\n-- caf\xe9 (latin-1)\n'
    folder = make_folder(tmp_path, {"0000_a.sql": raw}, [entry(0, "0000_a", 1)])
    (m,) = load_migrations(folder).entries
    assert m.hash == hashlib.sha256(raw.decode("utf-8", errors="replace").encode("utf-8")).hexdigest()
    assert m.invalid_utf8 == (2, 7)


def test_duplicate_tags_are_an_error_naming_both_entries(tmp_path):
    folder = make_folder(tmp_path, {"0000_a.sql": b"SELECT 1;\n"}, [entry(0, "0000_a", 1), entry(1, "0000_a", 2)])
    with pytest.raises(ConfigError, match=r"entries\[0\] and entries\[1\].*0000_a"):
        load_migrations(folder)


# --- drizzle 1.0: one folder per migration ------------------------------------------------------

def make_v1_folder(root: Path, migrations: dict[str, bytes]) -> Path:
    for name, body in migrations.items():
        (root / name).mkdir(parents=True)
        (root / name / "migration.sql").write_bytes(body)
    return root


def test_v1_folder_is_read_as_drizzle_1_reads_it(tmp_path):
    from pgrunbook.drizzle.journal import detect_format

    body = b'CREATE TABLE "a" ("id" serial);\n--> statement-breakpoint\nSELECT 1;\n'
    folder = make_v1_folder(tmp_path, {"20240612091403_initial": body, "20240703164127_b": b"SELECT 2;\n"})
    (folder / "20240612091403_initial" / "snapshot.json").write_text("{}")
    local = load_migrations(folder)
    assert detect_format(folder) == "1.0" and local.format == "1.0"
    first, second = local.entries
    assert (first.tag, first.name_v1, first.filename) == ("20240612091403_initial",) * 2 + ("20240612091403_initial/migration.sql",)
    assert first.hash == hashlib.sha256(body).hexdigest() and len(first.chunks()) == 2
    # formatToMillis: Date.UTC(2024, 5, 12, 9, 14, 3)
    assert first.when == first.when_v1 == 1718183643000 and second.idx == 1


def test_v1_folder_sorts_by_name_and_reports_what_drizzle_ignores(tmp_path):
    folder = make_v1_folder(tmp_path, {"20250101000000_b": b"SELECT 2;", "20240101000000_a": b"SELECT 1;"})
    (folder / "stray.sql").write_bytes(b"SELECT 3;")
    (folder / "20260101000000_empty").mkdir()
    local = load_migrations(folder)
    assert [m.tag for m in local.entries] == ["20240101000000_a", "20250101000000_b"]
    assert local.files_not_in_journal == ("20260101000000_empty/", "stray.sql")


def test_v1_folder_without_a_timestamp_is_refused_before_drizzle_inserts_nan(tmp_path):
    make_v1_folder(tmp_path, {"custom_fix": b"SELECT 1;"})
    with pytest.raises(ConfigError, match="custom_fix.*14 digits"):
        load_migrations(tmp_path)


def test_journal_and_v1_folders_together_is_an_error_naming_both(tmp_path):
    make_folder(tmp_path, {"0000_a.sql": b"SELECT 1;"}, [entry(0, "0000_a", 1718183643512)])
    make_v1_folder(tmp_path, {"20240612091403_a": b"SELECT 1;"})
    with pytest.raises(ConfigError, match=r"both formats.*_journal\.json.*20240612091403_a") as exc:
        load_migrations(tmp_path)
    assert "drizzle-kit up" in exc.value.next_step


def test_a_journal_entry_knows_its_drizzle_1_name_and_created_at(tmp_path):
    """drizzle-kit up: folder = prepareSnapshotFolderName(when) + '_' + tag after its first '_'."""
    (m,) = load_migrations(make_folder(tmp_path, {"0011_add_x_y.sql": b"SELECT 1;"},
                                       [entry(0, "0011_add_x_y", 1753190694346)])).entries
    assert m.name_v1 == "20250722132454_add_x_y" and m.when_v1 == 1753190694000 and m.when == 1753190694346


def test_folder_millis_carries_over_like_date_utc():
    from pgrunbook.drizzle.journal import folder_millis

    assert folder_millis("20241301000000_x") == folder_millis("20250101000000_x")  # month 13 = January next year
    assert folder_millis("20240101000060_x") == folder_millis("20240101000100_x")


def test_declared_drizzle_line_must_be_the_folders(tmp_path):
    folder = make_folder(tmp_path, {"0000_a.sql": b"SELECT 1;"}, [entry(0, "0000_a", 1718183643512)])
    assert load_migrations(folder, "0.45").format == load_migrations(folder, "auto").format == "0.45"
    with pytest.raises(ConfigError, match="migrations.drizzle says 1.0.*0.45 folder") as exc:
        load_migrations(folder, "1.0")
    assert "drizzle-kit up" in exc.value.next_step
