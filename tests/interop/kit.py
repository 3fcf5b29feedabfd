"""A drizzle 1.0 folder made by the real `drizzle-kit up` (drizzle-kit 1.0.0-rc.*, npm alias drizzle-kit-1).

The fixture's 0.45 folder holds no `meta/NNNN_snapshot.json` (the sandbox app ships its SQL only),
and `drizzle-kit up` needs one per journal entry: it copies each into `<folder>/snapshot.json`, reads
`prevId` to check the history, and converts it to its newest snapshot format. We give each entry an
empty version-7 PostgreSQL snapshot (no tables: `up` only moves files and links snapshots; the SQL
is copied byte for byte), each after the one before it, as drizzle-kit generated them.

The fixture's 0011 is stranded under 0.45: its `when` is older than 0010's although its SQL needs
0010's table. drizzle-kit up refuses such a folder, and says what to do:

    After drizzle-kit up moves the migrations into folders, migration 0011_add_performance_indexes sorts
    before its parent 0010_add_campaign_bonus_config, so migrate can run it first. [...] In
    meta/_journal.json, set `when` of 0011_add_performance_indexes to a time at least one second after
    `when` of 0010_add_campaign_bonus_config, then run drizzle-kit up again.

`v1_copy` does exactly that (`follow_order_advice`), then runs it again. A 0.45 ledger that recorded
0011 under its old `when` then meets a folder named after the new one: drizzle 1.0's upgrade names
that row by hash. Runs offline (`unshare -n` where available), TZ=UTC.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

HERE = Path(__file__).parent
KIT = HERE / "node_modules" / "drizzle-kit-1" / "bin.cjs"
ROOT = "00000000-0000-0000-0000-000000000000"


def add_snapshots(folder: Path, parents: dict[str, str] | None = None) -> None:
    """One empty v7 snapshot per journal entry, `prevId` = the previous entry's unless `parents` says otherwise."""
    parents = parents or {}
    entries = json.loads((folder / "meta" / "_journal.json").read_text())["entries"]
    prefixes = [e["tag"].split("_")[0] for e in entries]
    ids = {p: str(uuid.uuid5(uuid.NAMESPACE_URL, f"pgrunbook-fixture/{p}")) for p in prefixes}
    for position, prefix in enumerate(prefixes):
        parent = parents.get(prefix, prefixes[position - 1] if position else None)
        snapshot = {"id": ids[prefix], "prevId": ids[parent] if parent else ROOT, "version": "7", "dialect": "postgresql",
                    "tables": {}, "enums": {}, "schemas": {}, "sequences": {}, "roles": {}, "policies": {}, "views": {},
                    "_meta": {"columns": {}, "schemas": {}, "tables": {}}}
        (folder / "meta" / f"{prefix}_snapshot.json").write_text(json.dumps(snapshot, indent=2))


def drizzle_kit_up(folder: Path) -> subprocess.CompletedProcess:
    """The real `drizzle-kit up --dialect postgresql --out FOLDER` of the 1.0 line, offline."""
    node = shutil.which("node")
    command = [node, "--import", str(HERE / "kit1-alias.mjs"), str(KIT), "up", "--dialect", "postgresql", "--out", str(folder)]
    if shutil.which("unshare") and subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0:
        command = ["unshare", "-n", *command]
    return subprocess.run(command, capture_output=True, text=True, cwd=folder.parent, timeout=120,
                          env={**os.environ, "TZ": "UTC", "DRIZZLE_KIT_NO_TELEMETRY": "1"})


def follow_order_advice(folder: Path, output: str) -> bool:
    """drizzle-kit up's own fix for "sorts before its parent": `when` of the child = the parent's + 1 s."""
    import re

    found = re.search(r"migration (\S+) sorts before its parent (\S+), so migrate", output)
    if not found:
        return False
    path = folder / "meta" / "_journal.json"
    journal = json.loads(path.read_text())
    when = {e["tag"]: e["when"] for e in journal["entries"]}
    for e in journal["entries"]:
        if e["tag"] == found[1]:
            e["when"] = when[found[2]] + 1000
    path.write_text(json.dumps(journal, indent=2))
    return True


def v1_copy(source: Path, dest: Path) -> Path:
    """`source` (a 0.45 folder) copied to `dest` and converted by the real drizzle-kit up."""
    shutil.copytree(source, dest)
    if not any((dest / "meta").glob("*_snapshot.json")):
        add_snapshots(dest)
    done = drizzle_kit_up(dest)
    while done.returncode != 0 and follow_order_advice(dest, done.stdout + done.stderr):
        done = drizzle_kit_up(dest)
    assert done.returncode == 0 and not (dest / "meta").exists(), done.stdout + done.stderr
    return dest
