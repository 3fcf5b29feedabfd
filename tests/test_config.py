"""Configuration: every bad input is a clear ConfigError naming file, key and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from pgrunbook.config import DEFAULT_INVENTORY, DEFAULT_PLAYBOOK, DatabaseUrl, load_config, load_inventory, load_playbook
from pgrunbook.errors import ConfigError

GOOD = """\
name: t
database:
  url: postgresql://app:${DB_PW}@db.internal:5432/htf_sunup_db
migrations:
  dir: drizzle
"""


def write(tmp_path: Path, text: str, name: str = "inv.yml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_shipped_files_load():
    cfg = load_config(DEFAULT_INVENTORY, DEFAULT_PLAYBOOK, env={})
    assert cfg.inventory.sandbox is True
    assert len(cfg.playbook.expectations.tables) == 11
    assert cfg.playbook.expectations.role_count.table == "users"
    assert cfg.playbook.expectations.performance_indexes == 43


def test_production_example_documents_every_section():
    example = DEFAULT_INVENTORY.parent / "production.example.yml"
    env = {"PROD_DB_URL": "postgresql://u:p@h:5432/htf_sunup_db", "API_EMAIL": "ops@example.com", "API_PASSWORD": "x"}
    inv = load_inventory(example, env=env)
    assert inv.sandbox is False
    assert {t.type for t in inv.backup.targets} == {"local", "ssh", "s3"}
    assert inv.app.controller == "compose" and inv.api is not None and inv.api.endpoints


def test_env_interpolation_and_relative_paths(tmp_path):
    inv = load_inventory(write(tmp_path, GOOD), env={"DB_PW": "s3cret"})
    assert inv.database.url.password == "s3cret"
    assert inv.migrations.dir == (tmp_path / "drizzle").resolve()


def test_password_is_redacted_everywhere(tmp_path):
    inv = load_inventory(write(tmp_path, GOOD), env={"DB_PW": "s3cret"})
    for text in (str(inv.database.url), repr(inv.database.url), repr(inv), str(inv.model_dump())):
        assert "s3cret" not in text
    assert str(inv.database.url) == "postgresql://app:***@db.internal:5432/htf_sunup_db"
    assert inv.database.url.without_password() == "postgresql://app@db.internal:5432/htf_sunup_db"


def test_missing_env_var_names_variable_key_and_line(tmp_path):
    with pytest.raises(ConfigError) as exc:
        load_inventory(write(tmp_path, GOOD), env={})
    message = str(exc.value)
    assert "DB_PW" in message and "inv.yml:3" in message and "database.url" in message
    assert "export DB_PW" in exc.value.next_step


def test_env_default(tmp_path):
    text = GOOD.replace("${DB_PW}", "${DB_PW:-fallback}")
    assert load_inventory(write(tmp_path, text), env={}).database.url.password == "fallback"


def test_bad_yaml_names_line(tmp_path):
    with pytest.raises(ConfigError) as exc:
        load_inventory(write(tmp_path, "name: t\ndatabase: [unclosed\n"), env={})
    assert "invalid YAML" in str(exc.value) and "inv.yml:" in str(exc.value)


def test_unknown_key_names_key_and_line(tmp_path):
    text = GOOD + "backup:\n  min_copeis: 3\n"
    with pytest.raises(ConfigError) as exc:
        load_inventory(write(tmp_path, text), env={"DB_PW": "x"})
    assert "line 7: backup.min_copeis: unknown key" in str(exc.value)


def test_missing_key(tmp_path):
    with pytest.raises(ConfigError) as exc:
        load_inventory(write(tmp_path, "name: t\ndatabase:\n  url: postgresql://u@h/db\n"), env={})
    assert "migrations: required key is missing" in str(exc.value)


def test_bad_url(tmp_path):
    with pytest.raises(ConfigError) as exc:
        load_inventory(write(tmp_path, GOOD.replace("postgresql://", "mysql://")), env={"DB_PW": "x"})
    assert "database.url" in str(exc.value) and "postgresql://" in str(exc.value)


def test_unknown_host_reference(tmp_path):
    text = GOOD + "backup:\n  targets:\n    - {name: b, type: ssh, host: backup-server, path: /backups}\n"
    with pytest.raises(ConfigError) as exc:
        load_inventory(write(tmp_path, text), env={"DB_PW": "x"})
    assert "backup-server" in str(exc.value) and "hosts" in str(exc.value)


def test_duplicate_key(tmp_path):
    with pytest.raises(ConfigError) as exc:
        load_inventory(write(tmp_path, GOOD + "name: again\n"), env={"DB_PW": "x"})
    assert "duplicate key 'name'" in str(exc.value)


def test_missing_file():
    with pytest.raises(ConfigError) as exc:
        load_inventory(Path("/nonexistent/inv.yml"))
    assert "file not found" in str(exc.value)


def test_playbook_rejects_unknown_drift_policy(tmp_path):
    text = "expectations:\n  tables: [users]\nvalidate:\n  drift: fuzzy\n"
    with pytest.raises(ConfigError) as exc:
        load_playbook(write(tmp_path, text, "pb.yml"), env={})
    assert "validate.drift" in str(exc.value) and "line 4" in str(exc.value)


def test_controller_needs_its_section(tmp_path):
    text = GOOD + "app:\n  controller: systemd\n"
    with pytest.raises(ConfigError) as exc:
        load_inventory(write(tmp_path, text), env={"DB_PW": "x"})
    assert "systemd" in str(exc.value)


def test_database_url_parts():
    url = DatabaseUrl("postgresql://us%40er:p%3Ass@h:6543/my%20db?sslmode=require")
    assert (url.user, url.password, url.host, url.port, url.dbname) == ("us@er", "p:ss", "h", 6543, "my db")
    assert "p%3Ass" not in str(url) and url.secret().endswith("?sslmode=require")
    assert url.with_dbname("other").dbname == "other"


@pytest.mark.parametrize("raw, password", [
    ("postgresql://app@h:5432/db?password=s3cret-Q&sslmode=require", "s3cret-Q"),
    ("postgresql://app@h/db?sslmode=require&password=s3cret%26Q", "s3cret&Q"),
    ("postgres://app:userinfo-pw@h/db?password=query-pw", "query-pw"),  # libpq: the query string wins
    ("postgresql://app@h/db?sslpassword=key-pw&password=s3cret", "s3cret"),
])
def test_a_password_in_the_query_string_is_a_secret_too(raw, password):
    """Issue 11.7: `?password=` (and `sslpassword=`) never reach str(), repr(), keys or process arguments."""
    url = DatabaseUrl(raw)
    assert url.password == password
    shown = [str(url), repr(url), url.without_password(), url.key, url.with_dbname("other").without_password()]
    for text in shown:
        for secret in ("s3cret", "query-pw", "userinfo-pw", "key-pw"):
            assert secret not in text, text
    assert "sslmode=require" in url.without_password() or "sslmode" not in raw
    assert password.replace("&", "%26") in url.secret()


def test_foreign_query_text_never_shows_a_password():
    from pgrunbook.facts import redact_query

    for text in ("ALTER ROLE app PASSWORD 'hunter2' VALID UNTIL 'infinity'", "alter user app with encrypted password 'hunter2'",
                 "CREATE ROLE x LOGIN PASSWORD $$hunter2$$", "SELECT set_config('x', 'y', false); ALTER ROLE a PASSWORD E'hunter2'"):
        assert "hunter2" not in redact_query(text), text
    assert redact_query("SELECT * FROM users WHERE id = 1") == "SELECT * FROM users WHERE id = 1"
