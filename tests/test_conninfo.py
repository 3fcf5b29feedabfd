"""conninfo.DatabaseUrl: every form libpq accepts, secrets never shown (pure: no server)."""

from __future__ import annotations

import pytest

from pgrunbook.conninfo import DatabaseUrl

SECRET = "s3cret-Pw"


def shown(url: DatabaseUrl) -> list[str]:
    return [str(url), repr(url), url.without_password(), url.key, url.query, url.with_dbname("x").without_password()]


@pytest.mark.parametrize("raw, host, port, db", [
    (f"postgresql://app:{SECRET}@db.internal:6543/app?sslmode=require", "db.internal", 6543, "app"),
    (f"postgresql://app@h1:5432,h2:5433/app?target_session_attrs=read-write&password={SECRET}", "h1", 5432, "app"),
    (f"postgresql:///app?host=/var/run/postgresql&port=5433&user=app&password={SECRET}", "/var/run/postgresql", 5433, "app"),
    (f"host=db.internal port=6543 dbname=app user=app password={SECRET} sslmode=require", "db.internal", 6543, "app"),
    (f"host=db.internal dbname=app user=app password='{SECRET}'", "db.internal", 5432, "app"),
])
def test_every_form_has_its_parts_and_hides_its_secret(raw, host, port, db):
    url = DatabaseUrl(raw, environ={})
    assert (url.host, url.port, url.dbname, url.password) == (host, port, db, SECRET)
    for text in shown(url):
        assert SECRET not in text, text
    assert SECRET in url.secret()
    again = DatabaseUrl(url.secret(), environ={})  # the driver's rendering is the same target
    assert (again.host, again.port, again.dbname, again.password, again.hosts) == (url.host, url.port, url.dbname, SECRET, url.hosts)


def test_multiple_hosts_are_kept_in_order():
    url = DatabaseUrl("postgresql://app@h1:5432,h2:5433/app", environ={})
    assert url.hosts == ("h1", "h2") and "h1:5432,h2:5433" in url.without_password() and url.key == "app@h1,h2:5432/app"


def test_libpq_environment_fills_what_the_string_leaves_out():
    env = {"PGHOST": "envhost", "PGPORT": "7777", "PGUSER": "envuser", "PGPASSWORD": SECRET, "PGSSLMODE": "verify-full"}
    url = DatabaseUrl("dbname=app", environ=env)
    assert (url.host, url.port, url.user, url.password) == ("envhost", 7777, "envuser", SECRET)
    assert "sslmode=verify-full" in url.without_password() and SECRET not in str(url)
    assert DatabaseUrl("postgresql://other@h/app", environ=env).host == "h"  # the string wins


def test_a_service_file_is_read_as_libpq_does(tmp_path):
    service = tmp_path / "pg_service.conf"
    service.write_text(f"[prod]\nhost=svc.internal\nport=6000\ndbname=app\nuser=app\npassword={SECRET}\n")
    url = DatabaseUrl("service=prod", environ={"PGSERVICEFILE": str(service)})
    assert (url.host, url.port, url.dbname, url.user) == ("svc.internal", 6000, "app", "app")
    assert SECRET not in str(url) and SECRET not in url.without_password()
    with pytest.raises(ValueError, match="service 'nope' not found"):
        DatabaseUrl("service=nope", environ={"PGSERVICEFILE": str(service)})


@pytest.mark.parametrize("raw, message", [
    ("mysql://u@h/db", "postgresql://"),
    ("postgresql://u@h", "must name a database"),
    (f"host=h dbname password={SECRET}", "not a libpq URL or conninfo"),
])
def test_bad_targets_are_named_without_their_secret(raw, message):
    with pytest.raises(ValueError, match=message) as exc:
        DatabaseUrl(raw, environ={})
    assert SECRET not in str(exc.value)


def test_a_space_in_a_query_value_is_written_as_libpq_reads_it():
    """libpq decodes `%20` in a URL, never `+`: `options=-c work_mem=7MB` must survive a rendering."""
    from psycopg.conninfo import conninfo_to_dict

    url = DatabaseUrl("postgresql://app:pw@db:5432/app?options=-c%20work_mem%3D7MB", environ={})
    for rendered in (url.secret(), url.without_password()):
        assert conninfo_to_dict(rendered)["options"] == "-c work_mem=7MB"
