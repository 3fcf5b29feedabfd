"""The fingerprint of a 1M-row uuid-keyed table against the floor of any content check (issue 12).

    python bench/bench_fingerprint.py [--rows 1000000] [--rounds 5]

Floor: `SELECT sum(length(t::text)) FROM t` (reads and renders every row once). Measured:
`facts.table_fingerprint` (catalog look-ups included) in a READ ONLY transaction, as validation
runs it. Medians of --rounds after one warm-up each; the table is vacuumed and analyzed first.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import psycopg  # noqa: E402

from pgrunbook.facts import table_fingerprint  # noqa: E402
from pgrunbook.pg import read_only  # noqa: E402
from pgrunbook.sandbox.cluster import Cluster, free_port  # noqa: E402

TABLE = """CREATE TABLE accounts (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), email text NOT NULL, first_name text,
    last_name text, role text, created_at timestamptz NOT NULL DEFAULT now(), score int)"""
FILL = """INSERT INTO accounts (email, first_name, last_name, role, score)
    SELECT 'user' || g || '@example.test', 'First' || g, 'Last' || g, CASE WHEN g %% 10 = 0 THEN 'manager' ELSE 'fbo' END, g
    FROM generate_series(1, %s) g"""


def timed(fn, rounds: int) -> float:
    fn()  # warm-up: the table in shared buffers / the OS cache, as in the other rounds
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="pgrunbook-bench-fp-"))
    root.chmod(0o755)
    cluster = Cluster(root, free_port(), "bench-fp-pw")
    cluster.ensure_running()
    try:
        with psycopg.connect(cluster.url(), autocommit=True) as conn:
            conn.execute(TABLE)
            conn.execute(FILL, [args.rows])
            conn.execute("VACUUM ANALYZE accounts")
            size = conn.execute("SELECT pg_size_pretty(pg_table_size('accounts'))").fetchone()[0]

            def floor() -> None:
                conn.execute("SELECT sum(length(t::text)) FROM accounts t").fetchone()

            def fingerprint() -> None:
                with read_only(conn):
                    table_fingerprint(conn, "accounts")

            base, ours = timed(floor, args.rounds), timed(fingerprint, args.rounds)
        result = {"rows": args.rows, "table_size": size, "floor_s": round(base, 3), "fingerprint_s": round(ours, 3),
                  "ratio": round(ours / base, 2), "rounds": args.rounds}
        print(json.dumps(result))
        out = Path(__file__).parent / "results" / "fingerprint.json"
        out.write_text(json.dumps(result, indent=2) + "\n")
    finally:
        cluster.destroy()


if __name__ == "__main__":
    main()
