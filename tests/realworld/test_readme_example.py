"""The README's worked example ("Adopting pgrunbook on your app", homarr) runs as written.

The block is taken from README.md and run by bash (`set -e`), from the repository's root, against
the test session's cluster instead of the sandbox's: its first lines (`inv sandbox.up` and the two
`export`s naming the sandbox) are replaced by the same variables pointing at the session's cluster
(the password in a 0600 passfile, as the sandbox's). tests/test_readme.py skips these commands and
names this test.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import psycopg
import pytest

from pgrunbook.config import PROJECT_ROOT

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HEADING = "### Worked example: homarr (tests/realworld/homarr)"
REPLACED = ("inv sandbox.up", "export WORK=", "export HOMARR_DB_URL=")


def example() -> str:
    text = (PROJECT_ROOT / "README.md").read_text()
    after = text[text.index(HEADING):]
    block = re.search(r"```sh\n(.*?)\n```", after, re.S)
    assert block, "the worked example's ```sh block"
    return block.group(1)


def test_the_block_starts_with_the_lines_this_test_replaces():
    lines = example().splitlines()
    assert [next(i for i, line in enumerate(lines) if line.startswith(start)) for start in REPLACED] == [0, 1, 2]


@pytest.fixture
def homarr_db(pg_cluster):
    def drop() -> None:
        with psycopg.connect(pg_cluster.url("postgres"), autocommit=True) as admin:
            for (name,) in admin.execute("SELECT datname FROM pg_database WHERE datname LIKE 'homarr%'").fetchall():
                admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')

    drop()
    yield pg_cluster
    drop()


def test_the_worked_example_runs_as_written(homarr_db, tmp_path):
    if shutil.which("node") is None or not (PROJECT_ROOT / "tests" / "interop" / "node_modules" / "drizzle-orm").is_dir():
        pytest.fail("Node.js and tests/interop's npm packages are needed (`cd tests/interop && npm ci`)", pytrace=False)
    cluster = homarr_db
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"127.0.0.1:{cluster.port}:*:postgres:{cluster.password}\n")
    passfile.chmod(0o600)
    script = "\n".join(line for line in example().splitlines() if not line.startswith(REPLACED))
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("PG", "PGRUNBOOK_"))},
           "WORK": str(tmp_path / "homarr"), "PGPASSFILE": str(passfile),
           "HOMARR_DB_URL": f"postgresql://postgres@127.0.0.1:{cluster.port}/homarr", "COLUMNS": "200"}
    done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=PROJECT_ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "3869efc8422c8ec2e0ce3342e15c198568755aaf9b658d1f5a522e0c78548743 review-add-constraint" in done.stdout
    assert "migrate-prod: ok" in done.stdout + done.stderr
    with psycopg.connect(cluster.url("homarr")) as conn:
        assert conn.execute("SELECT count(*) FROM drizzle.__drizzle_migrations").fetchone()[0] == 10
        assert conn.execute("SELECT count(*) FROM information_schema.columns WHERE table_name = 'user' AND column_name = 'salt'"
                            ).fetchone()[0] == 0
    assert cluster.password not in done.stdout + done.stderr
