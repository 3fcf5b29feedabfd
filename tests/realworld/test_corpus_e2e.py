"""The real-world corpus end to end (issue 12, "Real-world corpus in the tests").

For each project: a database migrated part-way by drizzle's own migrator (drizzle-orm 0.45.4 under
Node, tests/interop), holding a few rows a live app would have; then `inv migrate-prod` through the
task's own code path (`cli.migrate_prod`, an inventory and a playbook written to a temporary folder)
with the playbook a user of that app would write: its own tables, its protected table, the kinds it
allows (its drizzle-kit output creates tables and types), and a reviewed exception pinned to a
migration's tag and sha256 for each pending migration that is deliberately destructive (the
exceptions name the rule ids and, where the finding names one, the objects). It must exit 0, and:

- the schema equals drizzle's own full migration of an empty database (`pg_dump --schema-only`,
  diffed as is: the only option is a fixed `--restrict-key`, whose default is random per dump);
- the tracking rows (id, hash, created_at) equal drizzle's;
- drizzle's migrator run afterwards applies nothing (same rows, same schema).

Dokploy runs twice: from 170 (16 pending) and from 150 (36 pending, among them UPDATEs that move api keys
and schedules to new columns before dropping the old ones, each under a reviewed exception).
homarr's pending set drops a column of its protected table (`user.salt`, approved by an exception), and
dittofeed's adds one to its protected table and fills it with an UPDATE inside the file's own BEGIN /
COMMIT: validation compares against the approved plan's expected post-state (the columns the plan
keeps) and does not roll back.
"""

from __future__ import annotations

import difflib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
import yaml
from psycopg import sql

from pgrunbook import cli
from pgrunbook.pg import default_bin_dir

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CORPUS = Path(__file__).parent
INTEROP = CORPUS.parent / "interop"


@dataclass(frozen=True)
class Case:
    project: str
    applied_by_drizzle: int  # journal entries drizzle's migrator applies before pgrunbook takes over
    playbook: dict
    rows: str = ""  # what the live app holds by then
    extra: dict = field(default_factory=dict)


def exception(project: str, tag: str, sha256: str, rules: list[str], reason: str, objects: list[str] | None = None) -> dict:
    return {"migration": tag, "sha256": sha256, "rules": rules, **({"objects": objects} if objects else {}),
            "reason": reason, "reviewed_by": f"{project} maintainer"}


CASES = [
    Case("ai-chatbot", 5, {
        "expectations": {"tables": ["User", "Chat"], "role_count": {"table": "User", "column": None}, "fingerprint": {"table": "User"}},
        "policy": {"allow": ["create-table"]},
        "exceptions": [exception("ai-chatbot", "0008_flat_forgotten_one",
                                 "91b47413f2bb010c75221ffcae2aaf1207b9628091beb1ae2ab7721914d285fd",
                                 ["ban-drop", "squawk:ban-drop-column"], "lastContext is not used since the v2 messages",
                                 ["public.Chat.lastContext"])],
    }, rows="""INSERT INTO "User" (email, password) SELECT 'u' || i || '@example.com', 'hash' || i FROM generate_series(1, 40) i;"""),
    Case("homarr", 2, {
        "expectations": {"tables": ["user", "board", "integration", "app"], "role_count": {"table": "user", "column": "provider"}},
        "policy": {"allow": ["create-table"]},
        "exceptions": [
            exception("homarr", "0002_add_app_reference_to_integration",
                      "3869efc8422c8ec2e0ce3342e15c198568755aaf9b658d1f5a522e0c78548743",
                      ["review-add-constraint", "review-add-constraint-validating", "squawk:constraint-missing-not-valid",
                       "squawk:adding-foreign-key-constraint"], "app_id is new (NULL in every row); integration holds a few rows"),
            exception("homarr", "0003_remove_salt", "5ce370e709dcd453a4286bef2e46ab54a5a5f41f1fa5994b2a6f52e182da99ec",
                      ["ban-drop", "squawk:ban-drop-column"], "passwords and api keys are bcrypt hashes, which hold their salt",
                      ["public.apiKey.salt", "public.user.salt"]),
            exception("homarr", "0007_merge_custom_widget_url", "9522abe3200df00391f513d1cc969cd55ddb5b23aee8867bce4e3a58c00ef605",
                      ["ban-drop", "ban-update", "squawk:adding-not-nullable-field"], "base_url and endpoint merged into url"),
        ],
    }, rows="""
        INSERT INTO "user" (id, name, email, password, salt, provider)
        SELECT 'u' || i, 'user ' || i, 'u' || i || '@example.com', 'hash' || i, 'salt' || i,
               CASE WHEN i % 3 = 0 THEN 'oidc' ELSE 'credentials' END FROM generate_series(1, 50) i;
        INSERT INTO "apiKey" (id, api_key, salt, user_id) SELECT 'k' || i, 'key' || i, 's' || i, 'u' || i FROM generate_series(1, 10) i;
    """),
    Case("dittofeed", 2, {
        "expectations": {"tables": ["Workspace", "UserProperty", "Broadcast", "Segment"],
                         "role_count": {"table": "Workspace", "column": "status"}, "fingerprint": {"table": "Workspace"}},
        "policy": {"allow": ["create-table", "create-type"]},
        "exceptions": [
            exception("dittofeed", "0002_spicy_inertia", "424bc45b7277b1535b2cc6a79c9fa217d3f85bb272a6e92473182d0a4cf0dac1",
                      ["ban-drop", "ban-update", "create-index-without-if-not-exists", "review-unique-index"],
                      "child workspaces get their parent in Workspace itself (the new column only); names unique per parent",
                      ["public.Workspace", "public.Workspace_externalId_key", "public.Workspace_name_key",
                       "public.Workspace_parentWorkspaceId_externalId_key", "public.Workspace_parentWorkspaceId_name_key"]),
            exception("dittofeed", "0002_spicy_inertia", "424bc45b7277b1535b2cc6a79c9fa217d3f85bb272a6e92473182d0a4cf0dac1",
                      ["review-transaction-control"], "the file's own BEGIN / COMMIT around its statements"),
            exception("dittofeed", "0003_hesitant_lionheart", "5c43425466af045af4d9e9be87290a126f551e9435a39afbafdafd01f9373aa0",
                      ["review-alter-type"], "a new workspace status, used only by the release that ships it",
                      ["public.WorkspaceStatus"]),
            exception("dittofeed", "0005_equal_raza", "a6dcb765a3d609a0b89ac10aefe3756a7ae1f2d30e00741b5bec5a524659357c",
                      ["ban-drop", "review-add-constraint", "review-add-constraint-validating",
                       "squawk:constraint-missing-not-valid", "squawk:disallowed-unique-constraint"],
                      "two unique indexes become unique constraints of the same columns; Workspace is small"),
            exception("dittofeed", "0006_talented_mattie_franklin", "c6ed833fce4d011e42e09a1cc66b5eee402d6f072aeb16b1f89b47291a083d98",
                      ["review-drop-not-null"], "v2 broadcasts use statusV2", ["public.Broadcast.status"]),
            exception("dittofeed", "0008_huge_toad_men", "7f227e5022d92407a2b9ba7daae8a6ea37c6ab7e3ce86c77685fc591c5bfd5dc",
                      ["ban-drop"], "two unique indexes merged into one on (workspaceId, workspaceOccupantId, name)",
                      ["public.WorkspaceOccupantSetting_workspaceId_workspaceOccupantId_key",
                       "public.WorkspaceOccupantSetting_workspaceId_name_key"]),
        ],
    }, rows="""INSERT INTO "Workspace" (id, name, "updatedAt") SELECT gen_random_uuid(), 'workspace ' || i, now()
               FROM generate_series(1, 12) i;"""),
    Case("dokploy", 150, {
        "expectations": {"tables": ["user", "organization", "project"], "role_count": {"table": "user", "column": None},
                         "fingerprint": {"table": "user"}},
        "policy": {"allow": ["create-table", "create-type"]},
        "exceptions": [
            exception("dokploy", "0150_nappy_blue_blade", "cd08e8011b2ed98d907b6742d570bfd7b773467ca5b14efe40ed0c230d74129d",
                      ["ban-update", "review-drop-not-null", "review-set-not-null"],
                      "api keys move from user_id to reference_id (better-auth 1.3): copied, then required", ["public.apikey"]),
            exception("dokploy", "0151_modern_sunfire", "33f1404cafed47e1c44f4ca1aabf5622ac8c47b4e896b75267fdcd2b20e9fbd8",
                      ["ban-drop", "review-add-constraint", "review-add-constraint-validating", "review-fk-on-delete-cascade"],
                      "user_id replaced by reference_id, copied by 0150", ["public.apikey"]),
            exception("dokploy", "0153_motionless_mastermind", "d7fc3e3fbd8cbb98955640dc7ff443da9dc40bd61530e8b2fb75a1ea1e6ba2ec",
                      ["review-add-constraint", "review-add-constraint-validating", "review-fk-on-delete-cascade"],
                      "libsqlId is new in backup, mount and volume_backup (NULL in every row)",
                      ["public.backup", "public.mount", "public.volume_backup"]),
            exception("dokploy", "0154_careful_eternals", "c1c1df3af3b1112369965346f4b2828cda8b3165340ef2f079d7560abcaee743",
                      ["review-add-constraint", "review-add-constraint-validating", "review-fk-on-delete-cascade"],
                      "mattermostId is new in notification (NULL in every row)", ["public.notification"]),
            exception("dokploy", "0160_burly_odin", "ea304927d971dc299597befcd1ee1315052403ae6cd2f0676cf8d4a947595cae",
                      ["review-set-default"], "new mongo services default to mongo:8", ["public.mongo.dockerImage"]),
            exception("dokploy", "0169_parched_johnny_storm", "f96dc704ba63c8f050904423f9bfe8952e4054b035e48e70b874b39af1f57505",
                      ["ban-drop", "ban-update", "review-add-constraint", "review-add-constraint-validating",
                       "review-fk-on-delete-cascade"], "schedules belong to the owner's organization, no longer to a user",
                      ["public.schedule"]),
            exception("dokploy", "0171_lucky_echo", "0b16a1db4e9ec1dd6f50cd87f71a510a5393041467267263aace606eb07c1163",
                      ["review-constraint-replacement", "review-add-constraint", "review-add-constraint-validating",
                       "squawk:constraint-missing-not-valid", "squawk:adding-foreign-key-constraint"],
                      "the sso_provider -> user foreign key now sets NULL; sso_provider is small", ["public.sso_provider"]),
        ],
    }),
    Case("dokploy", 170, {
        "expectations": {"tables": ["user", "organization", "project"], "role_count": {"table": "user", "column": None},
                         "fingerprint": {"table": "user"}},
        "policy": {"allow": ["create-table", "create-type"]},
        "exceptions": [
            exception("dokploy", "0171_lucky_echo", "", [
                "review-constraint-replacement", "review-add-constraint", "review-add-constraint-validating",
                "squawk:constraint-missing-not-valid", "squawk:adding-foreign-key-constraint"],
                "the sso_provider -> user foreign key now cascades; sso_provider is small"),
            exception("dokploy", "0184_wonderful_absorbing_man", "", ["review-alter-type"], "a new vault provider type",
                      ["public.VaultProviderType"]),
        ],
    }),
]


def _pinned(case: Case) -> Case:
    """dokploy's exceptions are pinned to the files' hashes as they are in the corpus (computed, not copied: 2 files)."""
    from pgrunbook.drizzle import load_migrations

    if all(e["sha256"] for e in case.playbook.get("exceptions", [])):
        return case
    local = load_migrations(CORPUS / case.project / "drizzle")
    exceptions = [{**e, "sha256": e["sha256"] or local.by_tag(e["migration"]).hash} for e in case.playbook["exceptions"]]
    return Case(case.project, case.applied_by_drizzle, {**case.playbook, "exceptions": exceptions}, case.rows)


@pytest.fixture(autouse=True)
def _drizzle_installed() -> None:
    if shutil.which("node") is None or not (INTEROP / "node_modules" / "drizzle-orm").is_dir():
        pytest.fail("Node.js and tests/interop's npm packages are needed (`cd tests/interop && npm ci`)", pytrace=False)


def drizzle_migrate(folder: Path, url: str) -> None:
    """drizzle-orm 0.45.4's own migrator on `url` (passed in the environment, never argv)."""
    done = subprocess.run([shutil.which("node"), str(INTEROP / "drizzle.mjs"), "migrate", str(folder)], capture_output=True,
                          text=True, env={**os.environ, "DATABASE_URL": url}, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]


def schema(cluster, db: str) -> str:
    """`pg_dump --schema-only`; the restrict key (random per dump since 18.0, 17.6, ...) fixed so that two dumps compare."""
    done = subprocess.run([str(default_bin_dir() / "pg_dump"), "--schema-only", "--restrict-key=pgrunbookcorpus",
                           "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres", "-d", db],
                          capture_output=True, text=True, env={**os.environ, "PGPASSWORD": cluster.password}, timeout=120, check=True)
    return done.stdout


def ledger(cluster, db: str) -> list[tuple]:
    with psycopg.connect(cluster.url(db)) as conn:
        return conn.execute("SELECT id, hash, created_at FROM drizzle.__drizzle_migrations ORDER BY id").fetchall()


@pytest.fixture
def databases(pg_cluster):
    made: list[str] = []

    def create(name: str) -> str:
        with psycopg.connect(pg_cluster.url("postgres"), autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        made.append(name)
        return name

    yield create
    with psycopg.connect(pg_cluster.url("postgres"), autocommit=True) as admin:
        for name in made:
            for db in [name, *(r[0] for r in admin.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [name + "\\_%"]))]:
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db)))


def part_way(full: Path, dest: Path, entries: int) -> Path:
    """The app as deployed earlier: the same files, its journal listing only the first `entries`."""
    shutil.copytree(full, dest)
    journal = json.loads((dest / "meta" / "_journal.json").read_text())
    journal["entries"] = journal["entries"][:entries]
    (dest / "meta" / "_journal.json").write_text(json.dumps(journal, indent=2))
    return dest


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.project}-from-{c.applied_by_drizzle}")
def test_migrate_prod_on_a_database_drizzle_migrated_part_way_ends_where_drizzle_would(case, pg_cluster, databases, tmp_path):
    case = _pinned(case)
    folder = shutil.copytree(CORPUS / case.project / "drizzle", tmp_path / "drizzle")
    reference = databases(f"corpus_{case.project.replace('-', '_')}_{case.applied_by_drizzle}_drizzle")
    target = databases(f"corpus_{case.project.replace('-', '_')}_{case.applied_by_drizzle}_pgrunbook")
    drizzle_migrate(folder, pg_cluster.url(reference))
    drizzle_migrate(part_way(folder, tmp_path / "deployed", case.applied_by_drizzle), pg_cluster.url(target))
    if case.rows:
        with psycopg.connect(pg_cluster.url(target), autocommit=True) as conn:
            conn.execute(case.rows)
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({
        "name": case.project, "environment": "staging",
        "database": {"url": f"postgresql://postgres:${{PGRB_TEST_PW}}@127.0.0.1:{pg_cluster.port}/{target}"},
        "migrations": {"dir": str(folder)}, "backup": {"dir": str(tmp_path / "backups"), "min_copies": 0},
    }))
    playbook = tmp_path / "playbook.yml"
    playbook.write_text(yaml.safe_dump(case.playbook, sort_keys=False))

    code = cli.migrate_prod(str(inventory), str(playbook), resume=None, yes=True, online=False, single_transaction=False, as_json=False)

    assert code == 0
    diff = list(difflib.unified_diff(schema(pg_cluster, reference).splitlines(), schema(pg_cluster, target).splitlines(),
                                     "drizzle", "pgrunbook", lineterm=""))
    assert diff == [], "\n".join(diff[:80])
    rows = ledger(pg_cluster, target)
    assert rows == ledger(pg_cluster, reference) and len(rows) == len(json.loads((folder / "meta" / "_journal.json").read_text())["entries"])
    after = schema(pg_cluster, target)
    drizzle_migrate(folder, pg_cluster.url(target))
    assert ledger(pg_cluster, target) == rows and schema(pg_cluster, target) == after


def test_homarr_validation_expected_the_approved_drop_of_its_protected_tables_column(pg_cluster, databases, tmp_path):
    """The run above for homarr, looked at in its journal: the fingerprint of `user` left out `salt` (the plan drops it)."""
    case = next(c for c in CASES if c.project == "homarr")
    test_migrate_prod_on_a_database_drizzle_migrated_part_way_ends_where_drizzle_would(case, pg_cluster, databases, tmp_path)
    journal = next((tmp_path / "backups" / "runs").glob("*/journal.jsonl"))
    records = [json.loads(line) for line in journal.read_text().splitlines()]
    validated = next(r["data"] for r in records if (r["phase"], r["event"]) == ("validate", "end"))
    fingerprint = next(c for c in validated["checks"] if c["id"] == "users-fingerprint")
    assert fingerprint["status"] == "ok" and "salt dropped by the approved plan" in fingerprint["summary"], fingerprint
    before = next(r["data"]["before"] for r in records if (r["phase"], r["event"]) == ("migrate", "start"))
    assert {"public.apiKey.salt", "public.user.salt"} <= set(before["expected"]["dropped_columns"])
    assert "salt" not in before["fingerprint"]["columns"] and before["fingerprint"]["count"] == 50
