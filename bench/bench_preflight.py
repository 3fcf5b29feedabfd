"""Benchmark: pre-flight data checks at about one million users, against running the statements.

    python bench/bench_preflight.py [--scale 15000] [--runs 3]

Loads the fixture at `scale` (15000 -> 1.02M users) in a throwaway cluster, then times
`preflight.preflight_plan` (READ ONLY, what analyze and the gate run) for each statement
below, and the statement itself run for real in a transaction rolled back (the cost the
pre-flight predicts, or the failure it prevents). Also times the executor's per-statement
session check (pinned settings + bounds in one round trip).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import time
from pathlib import Path

import psycopg

from pgrunbook import pg, preflight

from _sandbox import load_sandbox

STATEMENTS = [
    'CREATE UNIQUE INDEX "u_email" ON "users" ("email");',
    'CREATE UNIQUE INDEX "u_role" ON "users" ("role");',
    'ALTER TABLE "users" ALTER COLUMN "email" SET NOT NULL;',
    'ALTER TABLE "daily_bonus" ADD CONSTRAINT "f_user" FOREIGN KEY ("user_id") REFERENCES "users" ("id");',
    "ALTER TABLE \"users\" ADD CONSTRAINT \"c_role\" CHECK (role IN ('manager', 'fbo'));",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=int, default=15000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    loaded = load_sandbox("pgrunbook-bench-preflight-", scale=args.scale, state="tracked")
    url = loaded.cluster.url(loaded.dbname)
    results = {"scale": args.scale, "users": loaded.rows.get("users"), "statements": []}
    try:
        with psycopg.connect(url) as conn:
            pg.pin_session(conn)
            conn.commit()
            for sql in STATEMENTS:
                checks = preflight.plan_checks([("m.sql", sql)], frozenset({"public.users", "public.daily_bonus"}))
                pre, outcome = [], None
                for _ in range(args.runs):
                    conn.read_only = True
                    started = time.perf_counter()
                    with conn.transaction():
                        report = preflight.run_checks(conn, checks, timeout="5min")
                    pre.append(time.perf_counter() - started)
                    conn.read_only = False
                    outcome = "; ".join(f"{r.status} {r.count}" for r in report.results)
                real = []
                for _ in range(args.runs):
                    started = time.perf_counter()
                    try:
                        with conn.transaction(force_rollback=True):
                            conn.execute(sql)
                        failed = ""
                    except psycopg.Error as exc:
                        failed = type(exc).__name__
                    real.append(time.perf_counter() - started)
                row = {"sql": sql, "preflight": outcome, "preflight_s": round(statistics.median(pre), 3),
                       "statement_s": round(statistics.median(real), 3), "statement_failed": failed}
                results["statements"].append(row)
                print(json.dumps(row), flush=True)
        with psycopg.connect(url, autocommit=True) as conn:
            pg.pin_session(conn)
            n = 2000
            started = time.perf_counter()
            for _ in range(n):
                pg.session_settings(conn, ("lock_timeout", "statement_timeout", "idle_in_transaction_session_timeout"))
            results["session_check_ms"] = round((time.perf_counter() - started) / n * 1000, 3)
            started = time.perf_counter()
            for _ in range(n):
                conn.execute("SELECT 1")
            results["select_1_ms"] = round((time.perf_counter() - started) / n * 1000, 3)
        print(json.dumps({k: v for k, v in results.items() if k != "statements"}), flush=True)
        out = Path(__file__).parent / "results" / "preflight.json"
        out.write_text(json.dumps(results, indent=2) + "\n")
    finally:
        loaded.cluster.destroy()
        shutil.rmtree(loaded.work, ignore_errors=True)


if __name__ == "__main__":
    main()
