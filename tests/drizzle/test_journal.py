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
