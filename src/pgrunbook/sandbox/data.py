"""Fixture data for the sandbox's `htf_sunup_db`: deterministic, plausible, loaded by COPY.

`load_data(conn, scale=N)` fills the 11 application tables of an empty database that has the
0010 schema (`legacy_schema.sql`, or drizzle migrations 0000-0010, with or without 0011).
The data is built from a unit: one team of 8 managers and 60 FBOs with their campaigns,
challenges, actions, results, bonuses, proofs, validations and app versions
(`ROWS_PER_UNIT`). Scale N loads N units, so every table gets N times as many rows:
scale 1 gives 68 users, like the real production database, and scale 15000 gives 120,000
managers and 900,000 FBOs (1,020,000 users, 5.6 million rows in all).

Rows are written as pre-formatted COPY text in chunks of about 1 MiB. From
`PROCESS_THRESHOLD` units up, a child process builds the text while this process streams
it to the server. Ids are explicit, so the `serial` sequences are then set to `max(id)` with
`setval`, and the tables are ANALYZEd, all in the same transaction.

Measured on the sandbox (embedded PostgreSQL 18 with fsync off, 2 vCPUs, loading into the
0010 schema as superuser): scale 15000 (1,020,000 users, 5,610,000 rows in all) loads in
23 s, ANALYZE included, on an otherwise idle machine. With other benchmarks saturating both
CPUs (load average 4-6), it took 42-78 s; the CPU time then was 33 s in the server backend
and 19.5 s in the producer. Creating the 43 indexes of 0011 afterwards takes about 17 s.
Scale 300 loads in 1.2 s, and scale 1 in about 30 ms, plus about 0.1 s once per process
for the two bcrypt hashes. Without superuser rights, the foreign-key checks run row by row:
scale 3000 took 24 s instead of 8 s, so expect about two minutes at scale 15000.

Passwords: every manager has the password `SANDBOX_MANAGER_PASSWORD` and every FBO has
`SANDBOX_FBO_PASSWORD`. These are bcrypt hashes at cost 10, computed once per process with
a salt derived from the seed, so the data is byte-for-byte deterministic.
These are fixture credentials, published on purpose: they open nothing but a sandbox
database on 127.0.0.1. Don't reuse them anywhere else.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import random
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psycopg

FIXTURE_DIR = Path(__file__).parent / "fixture"
DRIZZLE_DIR = FIXTURE_DIR / "drizzle"
LEGACY_SCHEMA = FIXTURE_DIR / "legacy_schema.sql"
BREAKPOINT = "--> statement-breakpoint"

EMAIL_DOMAIN = "htf-sunup.test"
SANDBOX_MANAGER_PASSWORD = "Sunup-Sandbox-2025!"  # fixture-only, not a secret (see the module docstring)
SANDBOX_FBO_PASSWORD = "Fbo-Sandbox-2025!"  # fixture-only, not a secret
SANDBOX_LOGIN = (f"manager1@{EMAIL_DOMAIN}", SANDBOX_MANAGER_PASSWORD)  # user id 1, manager of fbo1..fbo8 (and more)
SANDBOX_FBO_LOGIN = (f"fbo1@{EMAIL_DOMAIN}", SANDBOX_FBO_PASSWORD)  # user id 9, member of manager1's team
DEFAULT_SEED = 20251004
TODAY = dt.date(2025, 10, 4)  # the fixture's "now": the active campaigns run through it

MANAGERS_PER_UNIT = 8
FBOS_PER_UNIT = 60
USERS_PER_UNIT = MANAGERS_PER_UNIT + FBOS_PER_UNIT
CAMPAIGNS_PER_UNIT = 2  # one completed, one active
DAYS_PER_CAMPAIGN = 5  # one challenge per campaign day
ACTIONS_PER_CHALLENGE = 2
ACTIONS_PER_FBO = 2
APP_VERSIONS_PER_UNIT = 2
# FBO j (0..59) of a unit reports to its manager j % 8. Half of each manager's team claimed a daily
# bonus, and the other half had the completed campaign validated.
BONUS_FBOS = tuple(j for j in range(FBOS_PER_UNIT) if (j + j // MANAGERS_PER_UNIT) % 2 == 1)
VALIDATED_FBOS = tuple(j for j in range(FBOS_PER_UNIT) if (j + j // MANAGERS_PER_UNIT) % 2 == 0)

# In load order (parents before children).
TABLES = (
    "users", "campaigns", "challenges", "actions", "user_actions", "daily_bonus", "proofs",
    "campaign_validations", "app_versions", "user_version_tracking", "campaign_bonus_config",
)
ROWS_PER_UNIT = {
    "users": USERS_PER_UNIT,
    "campaigns": CAMPAIGNS_PER_UNIT,
    "challenges": CAMPAIGNS_PER_UNIT * DAYS_PER_CAMPAIGN,
    "actions": CAMPAIGNS_PER_UNIT * DAYS_PER_CAMPAIGN * ACTIONS_PER_CHALLENGE,
    "user_actions": FBOS_PER_UNIT * ACTIONS_PER_FBO,
    "daily_bonus": len(BONUS_FBOS),
    "proofs": FBOS_PER_UNIT // 2,
    "campaign_validations": len(VALIDATED_FBOS),
    "app_versions": APP_VERSIONS_PER_UNIT,
    "user_version_tracking": FBOS_PER_UNIT,
    "campaign_bonus_config": CAMPAIGNS_PER_UNIT,
}

COLUMNS = {
    "users": ("id", "email", "password", "first_name", "last_name", "role", "manager_id", "is_active", "created_at",
              "updated_at", "phone", "profile_picture", "profile_picture_updated_at", "last_login_at"),
    "campaigns": ("id", "name", "description", "start_date", "end_date", "created_by", "created_at", "updated_at",
                  "status", "bonuses_enabled"),
    "challenges": ("id", "campaign_id", "date", "title", "description", "created_at", "updated_at", "value_in_euro"),
    "actions": ("id", "challenge_id", "title", "description", "type", "order", "created_at", "updated_at", "points_value"),
    "user_actions": ("id", "user_id", "action_id", "challenge_id", "completed", "completed_at", "proof_url", "created_at",
                     "updated_at", "validated", "validated_by", "validated_at", "validation_comment"),
    "daily_bonus": ("id", "user_id", "campaign_id", "bonus_date", "bonus_type", "amount", "status", "proof_url",
                    "reviewed_by", "reviewed_at", "created_at", "updated_at"),
    "proofs": ("id", "url", "type", "original_name", "size", "mime_type", "user_action_id", "daily_bonus_id",
               "created_at", "updated_at"),
    "campaign_validations": ("id", "user_id", "campaign_id", "status", "validated_by", "validated_at", "comment",
                             "total_earnings", "created_at", "updated_at"),
    "app_versions": ("id", "version", "title", "release_notes", "is_active", "is_major", "release_date", "created_at",
                     "updated_at"),
    "user_version_tracking": ("id", "user_id", "app_version_id", "has_seen_update", "seen_at", "created_at", "updated_at"),
    "campaign_bonus_config": ("id", "campaign_id", "basket_bonus_amount", "sponsorship_bonus_amount", "created_at",
                              "updated_at"),
}

FIRST_NAMES = (
    "Camille", "Léa", "Manon", "Chloé", "Emma", "Inès", "Sarah", "Julie", "Laura", "Marie", "Pauline", "Clara",
    "Nadia", "Sophie", "Amandine", "Élodie", "Aurélie", "Céline", "Fatou", "Yasmine", "Lucas", "Hugo", "Thomas",
    "Nicolas", "Julien", "Maxime", "Antoine", "Mehdi", "Karim", "Romain", "Kevin", "Alexandre", "Olivier",
    "Sébastien", "Mathieu", "Baptiste", "Quentin", "Yanis", "Samuel", "Jérôme",
)
LAST_NAMES = (
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau", "Simon",
    "Laurent", "Lefèvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier", "Morel",
    "Girard", "André", "Mercier", "Dupont", "Lambert", "Bonnet", "François", "Martinez", "Legrand", "Garnier",
    "Faure", "Rousseau", "Blanc", "Guérin", "Muller", "Henry", "Roussel", "Nicolas", "Perrin", "Diallo", "Benali",
)
ACTION_KINDS = (
    ("vente", "Réaliser une vente", "Vendre au moins un produit à un client", 10),
    ("recrutement", "Parrainer un nouveau FBO", "Présenter l'opportunité à un prospect", 20),
    ("reseaux_sociaux", "Publier une story produit", "Partager une publication sur les réseaux sociaux", 5),
)
MONTHS_FR = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
             "novembre", "décembre")

CHUNK_BYTES = 1 << 20
NULL = "\\N"
USERS_FROM = dt.datetime(2024, 6, 1, 8, 0, 0)  # the first account
USERS_SPAN = int((dt.datetime(2025, 9, 30, 20, 0, 0) - USERS_FROM).total_seconds())  # the last one


# ------------------------------------------------------------------ fixture files


def migration_statements(path: Path) -> list[str]:
    """The statements of a drizzle migration file, split as drizzle's migrator does."""
    return [chunk.strip() for chunk in path.read_text(encoding="utf-8").split(BREAKPOINT) if chunk.strip()]


# ------------------------------------------------------------------ passwords


def _bcrypt_salt(seed: int, label: str) -> bytes:
    raw = hashlib.sha256(f"pgrunbook-sandbox:{seed}:{label}".encode()).digest()[:16]
    std = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    bcrypt64 = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    encoded = base64.b64encode(raw).decode().rstrip("=").translate(str.maketrans(std, bcrypt64))
    return f"$2b$10${encoded}".encode()


@lru_cache(maxsize=8)
def password_hash(password: str, seed: int = DEFAULT_SEED) -> str:
    """bcrypt (cost 10) of a fixture password, with a salt derived from `seed`: deterministic."""
    import bcrypt

    return bcrypt.hashpw(password.encode(), _bcrypt_salt(seed, password)).decode()


# ------------------------------------------------------------------ loading


def load_data(conn: psycopg.Connection, *, scale: int = 1, seed: int = DEFAULT_SEED) -> dict[str, int]:
    """Fill the 11 (empty) application tables with `scale` units of fixture data; rows per table.

    One transaction block: committed on return, or a savepoint if the caller already has a
    transaction open. Then every `id` sequence is set to max(id), and the tables are ANALYZEd. As superuser (the sandbox's case) the foreign-key triggers are skipped
    during the COPYs (`session_replication_role = replica`, as `pg_restore --disable-triggers`
    does): the data is consistent by construction, which the tests check. Otherwise they run.
    From `PROCESS_THRESHOLD` units up, a child process builds the COPY text while this one
    streams it to the server, so both CPUs work.
    """
    import psycopg

    if scale < 1:
        raise ValueError(f"scale must be >= 1, not {scale}")
    source = _ChildSource(scale, seed) if scale >= PROCESS_THRESHOLD else _InlineSource(scale, seed)
    rows: dict[str, int] = {}
    try:
        with conn.transaction(), conn.cursor() as cur:
            replica = True
            try:
                with conn.transaction():
                    cur.execute("SET LOCAL session_replication_role = replica")
            except psycopg.errors.InsufficientPrivilege:
                replica = False  # not superuser: the foreign keys are checked row by row (slower, same result)
            for table in TABLES:
                columns = ", ".join(f'"{c}"' for c in COLUMNS[table])
                with cur.copy(f'COPY "{table}" ({columns}) FROM STDIN') as copy:  # type: ignore[arg-type]
                    for chunk in source.chunks(table):
                        copy.write(chunk)
                rows[table] = cur.rowcount
            if replica:
                cur.execute("SET LOCAL session_replication_role = DEFAULT")
            for table in TABLES:
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), coalesce(max(id), 1), max(id) IS NOT NULL) "  # type: ignore[arg-type]
                    f'FROM "{table}"'
                )
            for table in TABLES:
                cur.execute(f'ANALYZE "{table}"')  # type: ignore[arg-type]
    finally:
        source.close()
    return rows


PROCESS_THRESHOLD = 100  # units; below it, building the text inline is cheaper than starting a process


class _InlineSource:
    def __init__(self, scale: int, seed: int) -> None:
        self.gen = _Generator(scale, seed)

    def chunks(self, table: str) -> Iterator[bytes]:
        for chunk in _chunks(getattr(self.gen, table)()):
            yield chunk.encode()

    def close(self) -> None:
        pass


class _ChildSource:
    """The COPY text built by a child Python process (`python -m pgrunbook.sandbox.data produce`).

    The child writes length-prefixed frames on its stdout: per table, the table name, its
    chunks, then an empty frame.
    """

    def __init__(self, scale: int, seed: int) -> None:
        import os
        import subprocess
        import sys

        env = dict(os.environ)
        src = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pgrunbook.sandbox.data", "produce", str(scale), str(seed)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, env=env, bufsize=0,
        )
        assert self.process.stdout is not None
        self.stream = self.process.stdout

    def _frame(self) -> bytes:
        header = self._read(4)
        return self._read(int.from_bytes(header, "big"))

    def _read(self, size: int) -> bytes:
        parts, missing = [], size
        while missing:
            part = self.stream.read(missing)
            if not part:
                raise RuntimeError(f"the fixture data producer stopped early (exit code {self.process.poll()})")
            parts.append(part)
            missing -= len(part)
        return b"".join(parts)

    def chunks(self, table: str) -> Iterator[bytes]:
        header = self._frame()
        if header != table.encode():
            raise RuntimeError(f"fixture data producer out of step: expected {table}, got {header[:40]!r}")
        while chunk := self._frame():
            yield chunk

    def close(self) -> None:
        self.stream.close()
        try:
            self.process.wait(timeout=10)
        except Exception:  # noqa: BLE001 - it is our own child: make sure it goes away
            self.process.kill()
            self.process.wait()


def _produce(scale: int, seed: int) -> None:
    import sys

    out = sys.stdout.buffer
    gen = _Generator(scale, seed)

    def frame(payload: bytes) -> None:
        out.write(len(payload).to_bytes(4, "big"))
        out.write(payload)

    try:
        for table in TABLES:
            frame(table.encode())
            for chunk in _chunks(getattr(gen, table)()):
                frame(chunk.encode())
            frame(b"")
        out.flush()
    except BrokenPipeError:
        pass  # the loader gave up (its transaction failed): it reports why


def expected_rows(scale: int = 1) -> dict[str, int]:
    return {table: n * scale for table, n in ROWS_PER_UNIT.items()}


def _chunks(lines: Iterator[list[str]]) -> Iterator[str]:
    """Join batches of COPY lines into chunks of about CHUNK_BYTES."""
    pending: list[str] = []
    size = 0
    for batch in lines:
        text = "".join(batch)
        pending.append(text)
        size += len(text)
        if size >= CHUNK_BYTES:
            yield "".join(pending)
            pending, size = [], 0
    if pending:
        yield "".join(pending)


class _Generator:
    """One method per table, yielding lists of COPY text lines (one list per unit batch)."""

    def __init__(self, scale: int, seed: int) -> None:
        self.scale = scale
        self.seed = seed
        rng = random.Random(seed)
        self.first_names = list(FIRST_NAMES)
        self.last_names = list(LAST_NAMES)
        rng.shuffle(self.first_names)
        rng.shuffle(self.last_names)
        self.phone_offset = rng.randrange(10**8)
        self.manager_hash = password_hash(SANDBOX_MANAGER_PASSWORD, seed)
        self.fbo_hash = password_hash(SANDBOX_FBO_PASSWORD, seed)
        base = dt.date(2023, 1, 1)
        self.day0 = base
        self.days = [(base + dt.timedelta(days=i)).isoformat() for i in range(1400)]
        self.user_day0 = (USERS_FROM.date() - base).days
        self.user_sec0 = USERS_FROM.hour * 3600 + USERS_FROM.minute * 60 + USERS_FROM.second
        self.total_users = USERS_PER_UNIT * scale
        self.units_per_batch = 64

    # -- helpers

    def _day(self, date: dt.date) -> int:
        return (date - self.day0).days

    def user_created_at(self, user_id: int) -> str:
        """Accounts spread evenly from June 2024 to September 2025, in id order."""
        offset = self.user_sec0 + (user_id - 1) * USERS_SPAN // max(self.total_users - 1, 1)
        day, rest = divmod(offset, 86400)
        hh, rest = divmod(rest, 3600)
        mm, ss = divmod(rest, 60)
        return f"{self.days[self.user_day0 + day]} {hh:02d}:{mm:02d}:{ss:02d}"

    def completed_start(self, unit: int) -> int:
        """Day index of the unit's completed campaign: a Monday between Nov 2024 and Sept 2025."""
        return self._day(dt.date(2025, 9, 1)) - 7 * (unit % 43)

    def active_start(self, unit: int) -> int:
        """Day index of the unit's active campaign: it started Sept 30 or Oct 1 and runs 5 days."""
        return self._day(dt.date(2025, 9, 30)) + unit % 2

    def _batches(self) -> Iterator[range]:
        for start in range(0, self.scale, self.units_per_batch):
            yield range(start, min(start + self.units_per_batch, self.scale))

    # -- tables

    def users(self) -> Iterator[list[str]]:
        first, last = self.first_names, self.last_names
        nf, nl = len(first), len(last)
        mhash, fhash = self.manager_hash, self.fbo_hash
        login_days = [self.days[self._day(TODAY) - d] for d in range(0, 30)]
        for units in self._batches():
            out: list[str] = []
            append = out.append
            for unit in units:
                base = unit * USERS_PER_UNIT
                for local in range(USERS_PER_UNIT):
                    uid = base + local + 1
                    created = self.user_created_at(uid)
                    if local < MANAGERS_PER_UNIT:
                        email = f"manager{unit * MANAGERS_PER_UNIT + local + 1}@{EMAIL_DOMAIN}"
                        role, manager, password, active = "manager", NULL, mhash, "t"
                    else:
                        j = local - MANAGERS_PER_UNIT
                        email = f"fbo{unit * FBOS_PER_UNIT + j + 1}@{EMAIL_DOMAIN}"
                        role, manager, password = "fbo", str(base + 1 + j % MANAGERS_PER_UNIT), fhash
                        active = "f" if j % 23 == 22 else "t"
                    phone = NULL if uid % 5 == 0 else f"+336{(uid * 7919 + self.phone_offset) % 10**8:08d}"
                    if uid % 3 == 0:
                        picture, picture_at = f"https://storage.{EMAIL_DOMAIN}/avatars/{uid}.jpg", created
                    else:
                        picture, picture_at = NULL, NULL
                    if active == "t" and uid % 7 != 6:
                        last_login = f"{login_days[uid % 30]} {7 + uid % 14:02d}:{uid % 60:02d}:{(uid * 7) % 60:02d}"
                    else:
                        last_login = NULL
                    append(
                        f"{uid}\t{email}\t{password}\t{first[(uid * 7) % nf]}\t{last[(uid * 13 + unit) % nl]}\t{role}\t"
                        f"{manager}\t{active}\t{created}\t{created}\t{phone}\t{picture}\t{picture_at}\t{last_login}\n"
                    )
            yield out

    def campaigns(self) -> Iterator[list[str]]:
        days = self.days
        for units in self._batches():
            out: list[str] = []
            for unit in units:
                manager = unit * USERS_PER_UNIT + 1
                for k, start in enumerate((self.completed_start(unit), self.active_start(unit))):
                    cid = unit * CAMPAIGNS_PER_UNIT + k + 1
                    d = self.day0 + dt.timedelta(days=start)
                    status = "completed" if k == 0 else "active"
                    name = f"Challenge {MONTHS_FR[d.month - 1]} {d.year} - équipe {unit + 1}"
                    description = f"{DAYS_PER_CAMPAIGN} jours de défis ventes et parrainage pour l'équipe {unit + 1}"
                    created = f"{days[start - 14]} 09:{k * 15:02d}:00"
                    updated = f"{days[start + DAYS_PER_CAMPAIGN]} 08:00:00" if k == 0 else created
                    out.append(
                        f"{cid}\t{name}\t{description}\t{days[start]}\t{days[start + DAYS_PER_CAMPAIGN - 1]}\t"
                        f"{manager + k}\t{created}\t{updated}\t{status}\t{'f' if unit % 4 == 3 else 't'}\n"
                    )
            yield out

    def challenges(self) -> Iterator[list[str]]:
        days = self.days
        for units in self._batches():
            out: list[str] = []
            for unit in units:
                for k, start in enumerate((self.completed_start(unit), self.active_start(unit))):
                    cid = unit * CAMPAIGNS_PER_UNIT + k + 1
                    created = f"{days[start - 10]} 10:30:00"
                    for d in range(DAYS_PER_CAMPAIGN):
                        chid = (cid - 1) * DAYS_PER_CAMPAIGN + d + 1
                        value = "1.00" if d == DAYS_PER_CAMPAIGN - 1 else "0.50"
                        out.append(
                            f"{chid}\t{cid}\t{days[start + d]}\tJour {d + 1}\tDéfi du jour {d + 1} : vente et parrainage\t"
                            f"{created}\t{created}\t{value}\n"
                        )
            yield out

    def actions(self) -> Iterator[list[str]]:
        days = self.days
        per_unit_challenges = CAMPAIGNS_PER_UNIT * DAYS_PER_CAMPAIGN
        for units in self._batches():
            out: list[str] = []
            for unit in units:
                for k, start in enumerate((self.completed_start(unit), self.active_start(unit))):
                    created = f"{days[start - 10]} 10:45:00"
                    for d in range(DAYS_PER_CAMPAIGN):
                        chid = unit * per_unit_challenges + k * DAYS_PER_CAMPAIGN + d + 1
                        for t in range(ACTIONS_PER_CHALLENGE):
                            aid = (chid - 1) * ACTIONS_PER_CHALLENGE + t + 1
                            kind, title, description, points = ACTION_KINDS[(d + t) % len(ACTION_KINDS)]
                            out.append(
                                f"{aid}\t{chid}\t{title}\t{description}\t{kind}\t{t + 1}\t{created}\t{created}\t{points}\n"
                            )
            yield out

    def _fbo_action(self, j: int, t: int) -> int:
        """Local action index (0..19) of FBO j's t-th action: t = 0 in the completed campaign, t = 1 in the active one."""
        per_campaign = DAYS_PER_CAMPAIGN * ACTIONS_PER_CHALLENGE
        return t * per_campaign + (j * (3 + 4 * t)) % per_campaign

    def user_actions(self) -> Iterator[list[str]]:
        days = self.days
        today = self._day(TODAY)
        per_unit_actions = CAMPAIGNS_PER_UNIT * DAYS_PER_CAMPAIGN * ACTIONS_PER_CHALLENGE
        per_unit_challenges = CAMPAIGNS_PER_UNIT * DAYS_PER_CAMPAIGN
        for units in self._batches():
            out: list[str] = []
            for unit in units:
                starts = (self.completed_start(unit), self.active_start(unit))
                base_user = unit * USERS_PER_UNIT + MANAGERS_PER_UNIT
                for j in range(FBOS_PER_UNIT):
                    uid = base_user + j + 1
                    manager = unit * USERS_PER_UNIT + 1 + j % MANAGERS_PER_UNIT
                    for t in range(ACTIONS_PER_FBO):
                        uaid = (unit * FBOS_PER_UNIT + j) * ACTIONS_PER_FBO + t + 1
                        a = self._fbo_action(j, t)
                        local_challenge = a // ACTIONS_PER_CHALLENGE
                        k, d = divmod(local_challenge, DAYS_PER_CAMPAIGN)
                        day = starts[k] + d
                        aid = unit * per_unit_actions + a + 1
                        chid = unit * per_unit_challenges + local_challenge + 1
                        created = f"{days[day]} 07:{j % 60:02d}:00"
                        if day <= today and (k == 0 or (j + t) % 3):
                            done_at = f"{days[day]} {12 + (j + t) % 9:02d}:{(j * 7) % 60:02d}:{(uaid * 11) % 60:02d}"
                            proof = f"https://storage.{EMAIL_DOMAIN}/proofs/user-actions/{uaid}.jpg"
                            if k == 0 and j % 10:
                                validated = f"t\t{manager}\t{days[day + 1]} 09:{j % 60:02d}:00\t{NULL}"
                            elif k == 0:
                                validated = f"f\t{manager}\t{days[day + 1]} 09:{j % 60:02d}:00\tPreuve illisible, merci de la renvoyer"
                            else:
                                validated = f"f\t{NULL}\t{NULL}\t{NULL}"
                            out.append(f"{uaid}\t{uid}\t{aid}\t{chid}\tt\t{done_at}\t{proof}\t{created}\t{done_at}\t{validated}\n")
                        else:
                            out.append(f"{uaid}\t{uid}\t{aid}\t{chid}\tf\t{NULL}\t{NULL}\t{created}\t{created}\tf\t{NULL}\t{NULL}\t{NULL}\n")
            yield out

    def daily_bonus(self) -> Iterator[list[str]]:
        """One bonus for each FBO of BONUS_FBOS (half of each team), alternating between the two campaigns."""
        days = self.days
        for units in self._batches():
            out: list[str] = []
            for unit in units:
                starts = (self.completed_start(unit), self.active_start(unit))
                for i, j in enumerate(BONUS_FBOS):
                    bid = unit * len(BONUS_FBOS) + i + 1
                    uid = unit * USERS_PER_UNIT + MANAGERS_PER_UNIT + j + 1
                    manager = unit * USERS_PER_UNIT + 1 + j % MANAGERS_PER_UNIT
                    k = i % 2
                    day = starts[k] + (i // 2) % (DAYS_PER_CAMPAIGN - 1)
                    kind, amount = ("sponsorship", "5.00") if i % 3 == 0 else ("basket", "1.00")
                    created = f"{days[day]} 19:{i:02d}:00"
                    proof = f"https://storage.{EMAIL_DOMAIN}/proofs/bonus/{bid}.jpg"
                    if k == 0:
                        status = "rejected" if i % 7 == 0 else "approved"
                        reviewed = f"{manager}\t{days[day + 1]} 10:{i:02d}:00"
                    else:
                        status, reviewed = "pending", f"{NULL}\t{NULL}"
                    out.append(f"{bid}\t{uid}\t{unit * CAMPAIGNS_PER_UNIT + k + 1}\t{days[day]}\t{kind}\t{amount}\t{status}\t"
                               f"{proof}\t{reviewed}\t{created}\t{created}\n")
            yield out

    def proofs(self) -> Iterator[list[str]]:
        """Half for user actions (the completed first action of FBOs 0, 2, 4...), half for daily bonuses (1, 3, 5...)."""
        days = self.days
        half = FBOS_PER_UNIT // 2
        for units in self._batches():
            out: list[str] = []
            for unit in units:
                starts = (self.completed_start(unit), self.active_start(unit))
                for i in range(half):
                    pid = unit * half + i + 1
                    created = f"{days[starts[i % 2] + (i // 2) % (DAYS_PER_CAMPAIGN - 1)]} 20:{i:02d}:00"
                    if i % 2 == 0:
                        uaid = (unit * FBOS_PER_UNIT + i) * ACTIONS_PER_FBO + 1
                        target = f"{uaid}\t{NULL}"
                        url = f"https://storage.{EMAIL_DOMAIN}/proofs/user-actions/{uaid}.jpg"
                    else:
                        bid = unit * len(BONUS_FBOS) + i + 1
                        target = f"{NULL}\t{bid}"
                        url = f"https://storage.{EMAIL_DOMAIN}/proofs/bonus/{bid}.jpg"
                    if i % 5 == 4:
                        kind, name, mime, size = "video", f"VID_{20250000 + pid}.mp4", "video/mp4", 2_000_000 + pid % 900_000
                    else:
                        kind, name, mime, size = "image", f"IMG_{20250000 + pid}.jpg", "image/jpeg", 150_000 + pid % 90_000
                    out.append(f"{pid}\t{url}\t{kind}\t{name}\t{size}\t{mime}\t{target}\t{created}\t{created}\n")
            yield out

    def campaign_validations(self) -> Iterator[list[str]]:
        """The completed campaign, for each FBO of VALIDATED_FBOS (the other half of each team)."""
        days = self.days
        half = len(VALIDATED_FBOS)
        for units in self._batches():
            out: list[str] = []
            for unit in units:
                end = self.completed_start(unit) + DAYS_PER_CAMPAIGN - 1
                cid = unit * CAMPAIGNS_PER_UNIT + 1
                for i, j in enumerate(VALIDATED_FBOS):
                    vid = unit * half + i + 1
                    uid = unit * USERS_PER_UNIT + MANAGERS_PER_UNIT + j + 1
                    manager = unit * USERS_PER_UNIT + 1 + j % MANAGERS_PER_UNIT
                    created = f"{days[end + 1]} 08:{i:02d}:00"
                    earnings = f"{(i % 6) * 0.5 + (5 if i % 3 == 0 else 0):.2f}"
                    if i % 9 == 8:
                        rest = f"pending\t{NULL}\t{NULL}\t{NULL}\t{earnings}\t{created}\t{created}"
                    elif i % 11 == 10:
                        rest = f"rejected\t{manager}\t{days[end + 2]} 11:00:00\tPreuves manquantes\t0.00\t{created}\t{days[end + 2]} 11:00:00"
                    else:
                        rest = f"approved\t{manager}\t{days[end + 2]} 11:{i:02d}:00\tBravo !\t{earnings}\t{created}\t{days[end + 2]} 11:{i:02d}:00"
                    out.append(f"{vid}\t{uid}\t{cid}\t{rest}\n")
            yield out

    def app_versions(self) -> Iterator[list[str]]:
        days = self.days
        release = (self._day(dt.date(2025, 7, 15)), self._day(dt.date(2025, 9, 22)))
        for units in self._batches():
            out: list[str] = []
            for unit in units:
                for k in range(APP_VERSIONS_PER_UNIT):
                    vid = unit * APP_VERSIONS_PER_UNIT + k + 1
                    version = f"{1 + unit // 100}.{unit % 100}.{k}"
                    when = f"{days[release[k] - unit % 30]} 16:00:00"
                    out.append(f"{vid}\t{version}\tVersion {version}\tCorrections et améliorations de performance\t"
                               f"{'t' if k else 'f'}\t{'t' if k == 0 and unit % 10 == 0 else 'f'}\t{when}\t{when}\t{when}\n")
            yield out

    def user_version_tracking(self) -> Iterator[list[str]]:
        days = self.days
        seen_day = self._day(dt.date(2025, 9, 25))
        for units in self._batches():
            out: list[str] = []
            for unit in units:
                for j in range(FBOS_PER_UNIT):
                    tid = unit * FBOS_PER_UNIT + j + 1
                    uid = unit * USERS_PER_UNIT + MANAGERS_PER_UNIT + j + 1
                    version = unit * APP_VERSIONS_PER_UNIT + 1 + j % APP_VERSIONS_PER_UNIT
                    created = f"{days[seen_day - 20 + j % 20]} 12:{j:02d}:00"
                    if j % 3:
                        seen = f"{days[seen_day + j % 9]} 18:{j:02d}:00"
                        out.append(f"{tid}\t{uid}\t{version}\tt\t{seen}\t{created}\t{seen}\n")
                    else:
                        out.append(f"{tid}\t{uid}\t{version}\tf\t{NULL}\t{created}\t{created}\n")
            yield out

    def campaign_bonus_config(self) -> Iterator[list[str]]:
        days = self.days
        for units in self._batches():
            out: list[str] = []
            for unit in units:
                for k, start in enumerate((self.completed_start(unit), self.active_start(unit))):
                    cid = unit * CAMPAIGNS_PER_UNIT + k + 1
                    created = f"{days[start - 14]} 09:30:00"
                    basket, sponsorship = ("1.00", "5.00") if unit % 3 else ("1.50", "7.50")
                    out.append(f"{cid}\t{cid}\t{basket}\t{sponsorship}\t{created}\t{created}\n")
            yield out


if __name__ == "__main__":
    import sys

    if len(sys.argv) == 4 and sys.argv[1] == "produce":
        _produce(int(sys.argv[2]), int(sys.argv[3]))
    else:
        sys.exit("usage: python -m pgrunbook.sandbox.data produce SCALE SEED  (internal: the COPY text producer)")
