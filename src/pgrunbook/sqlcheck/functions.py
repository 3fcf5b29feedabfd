"""What we know about built-in functions without asking a database.

A migration that calls a function can do anything the function does. Functions the
migration defines itself are followed into their body (see `classify`); for the others we
only know the built-ins listed here:

- `HARMLESS`: read-only or purely computational built-ins. Calling them is not an
  operation worth reporting (`SELECT count(*)`, `lower(email)`, `now()`).
- `DANGEROUS`: built-ins with effects outside the rows of the migrated tables that a
  migration has no business causing: ending other sessions (real users' requests fail),
  deleting large objects, running SQL on another server (`dblink_exec`, unverifiable),
  writing or deleting server files, dropping replication slots, promoting a standby.
  They are the `dangerous-call` kind, forbidden by default.
- `SESSION_SETTERS`: `set_config(...)` is `SET` in function form: the `set` kind.
- `RISKY`: built-ins that look harmless but are not in a migration, each with its own
  rule (see `rules`): `pg_sleep` holds every lock taken so far while it sleeps,
  `pg_advisory_unlock*` can release pgrunbook's own run lock, `setval` moves a sequence
  (duplicate keys or gaps). `nextval` is harmless once, not once per row or loop
  iteration (`BURNS_SEQUENCE`). They are `dangerous-call` operations flagged `fn:<name>`.
- `INTERNAL_SYMBOLS`: the C symbol (`prosrc` of a `LANGUAGE internal` function) of
  built-ins whose symbol is not their SQL name: a function created `LANGUAGE internal AS
  'be_lo_unlink'` IS lo_unlink, whatever it is called.

A name is the built-in only in `pg_catalog` (or unqualified, found through the
search_path where pg_catalog comes first): `public.now()` is not `now()`.

Any other function is unknown: a `call`, reviewed by a human.

`NON_VOLATILE` lists built-ins whose value does not change from row to row; an added
column whose default uses only these gets PostgreSQL's fast path (no table rewrite).
"""

from __future__ import annotations

SYSTEM_SCHEMAS = frozenset({"pg_catalog", "information_schema"})

DANGEROUS = frozenset(
    {
        "pg_terminate_backend",
        "pg_cancel_backend",
        "lo_unlink",
        "lo_import",
        "lo_export",
        "lo_truncate",
        "lo_truncate64",
        "dblink",
        "dblink_exec",
        "dblink_send_query",
        "dblink_open",
        "pg_file_write",
        "pg_file_unlink",
        "pg_file_rename",
        "pg_file_sync",
        "pg_drop_replication_slot",
        "pg_replication_origin_drop",
        "pg_promote",
        "pg_truncate_visibility_map",
        "pg_stat_reset",
        "pg_stat_reset_shared",
        "pg_stat_reset_single_table_counters",
        "pg_stat_reset_single_function_counters",
        "pg_stat_statements_reset",
        "pg_reload_conf",
        "pg_rotate_logfile",
        "pg_switch_wal",
        "pg_log_backend_memory_contexts",
    }
)

SESSION_SETTERS = frozenset({"set_config"})

RISKY = frozenset(
    {
        "pg_sleep",
        "pg_sleep_for",
        "pg_sleep_until",
        "pg_advisory_unlock",
        "pg_advisory_unlock_all",
        "pg_advisory_unlock_shared",
        "setval",
    }
)
BURNS_SEQUENCE = frozenset({"nextval"})

# prosrc -> SQL name, where they differ (src/include/catalog/pg_proc.dat).
INTERNAL_SYMBOLS = {
    "be_lo_unlink": "lo_unlink",
    "be_lo_import": "lo_import",
    "be_lo_import_with_oid": "lo_import",
    "be_lo_export": "lo_export",
    "be_lo_truncate": "lo_truncate",
    "be_lo_truncate64": "lo_truncate64",
    "set_config_by_name": "set_config",
    "setval_oid": "setval",
    "setval3_oid": "setval",
    "nextval_oid": "nextval",
    "pg_advisory_unlock_int8": "pg_advisory_unlock",
    "pg_advisory_unlock_int4": "pg_advisory_unlock",
    "pg_advisory_unlock_shared_int8": "pg_advisory_unlock_shared",
    "pg_advisory_unlock_shared_int4": "pg_advisory_unlock_shared",
    "pg_file_write_v1_1": "pg_file_write",
    "pg_file_unlink_v1_1": "pg_file_unlink",
    "pg_file_rename_v1_1": "pg_file_rename",
    "dblink_exec": "dblink_exec",
    "dblink_record": "dblink",
}

# Settings that change how later SQL text is parsed: the analysis read it with the
# server's defaults, so after such a SET a string can hide a statement.
PARSING_SETTINGS = frozenset({"standard_conforming_strings", "backslash_quote", "client_encoding", "escape_string_warning"})
# Bounds pgrunbook puts on every statement of the run.
TIMEOUT_SETTINGS = frozenset({"statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout", "transaction_timeout"})


def builtin_name(symbol: str) -> str:
    """The SQL name of the built-in a `LANGUAGE internal`/`c` symbol implements."""
    return INTERNAL_SYMBOLS.get(symbol, symbol)

NON_VOLATILE = frozenset(
    {
        # clock functions that are constant for the whole transaction (STABLE)
        "now",
        "transaction_timestamp",
        "statement_timestamp",
        "current_setting",
        "current_schema",
        "current_database",
        "current_user",
        "session_user",
        "version",
        # pure computation (IMMUTABLE)
        "lower",
        "upper",
        "btrim",
        "ltrim",
        "rtrim",
        "length",
        "char_length",
        "substring",
        "substr",
        "replace",
        "concat",
        "concat_ws",
        "coalesce",
        "nullif",
        "greatest",
        "least",
        "abs",
        "round",
        "trunc",
        "floor",
        "ceil",
        "ceiling",
        "md5",
        "to_char",
        "to_date",
        "to_timestamp",
        "to_number",
        "make_date",
        "make_interval",
        "date_trunc",
        "date_part",
        "extract",
        "timezone",
        "jsonb_build_object",
        "jsonb_build_array",
        "json_build_object",
        "json_build_array",
        "to_jsonb",
        "to_json",
        "array_length",
        "cardinality",
        "array_to_string",
        "string_to_array",
        "format",
        "left",
        "right",
        "position",
        "strpos",
        "split_part",
        "regexp_replace",
        "regexp_match",
        "starts_with",
        "encode",
        "decode",
        "quote_ident",
        "quote_literal",
        "quote_nullable",
        "age",
        "int4",
        "int8",
        "text",
        "numeric",
        "bool",
        "float8",
    }
)

HARMLESS = NON_VOLATILE | frozenset(
    {
        # aggregates and window functions
        "count",
        "sum",
        "min",
        "max",
        "avg",
        "array_agg",
        "string_agg",
        "jsonb_agg",
        "json_agg",
        "jsonb_object_agg",
        "json_object_agg",
        "bool_and",
        "bool_or",
        "every",
        "row_number",
        "rank",
        "dense_rank",
        "lag",
        "lead",
        "first_value",
        "last_value",
        # volatile but without side effects on data
        "random",
        "gen_random_uuid",
        "uuid_generate_v4",
        "clock_timestamp",
        "timeofday",
        "currval",
        "lastval",
        "txid_current",
        "pg_current_xact_id",
        # catalog and size inspection
        "pg_get_serial_sequence",
        "pg_table_size",
        "pg_relation_size",
        "pg_total_relation_size",
        "pg_indexes_size",
        "pg_size_pretty",
        "pg_typeof",
        "has_table_privilege",
        "has_schema_privilege",
        "to_regclass",
        "to_regtype",
        "obj_description",
        "col_description",
        "format_type",
        "pg_get_indexdef",
        "pg_get_constraintdef",
        "pg_backend_pid",
        "jsonb_typeof",
        "jsonb_array_length",
        "jsonb_set",
        "jsonb_extract_path",
        "jsonb_extract_path_text",
        "unnest",
        "generate_series",
        # text search and other immutable helpers common in index expressions
        "to_tsvector",
        "to_tsquery",
        "plainto_tsquery",
        "phraseto_tsquery",
        "websearch_to_tsquery",
        "setweight",
        "ts_rank",
        "ts_rank_cd",
        "array_position",
        "array_remove",
        "array_append",
        "array_cat",
        "jsonb_path_query",
        "jsonb_path_exists",
        "jsonb_strip_nulls",
        "jsonb_array_elements",
        "jsonb_array_elements_text",
        "jsonb_each",
        "jsonb_object_keys",
        "regexp_split_to_array",
        "reverse",
        "initcap",
        "lpad",
        "rpad",
        "translate",
        "sign",
        "mod",
        "power",
        "sqrt",
        "date",
        "uuid_generate_v7",
        "uuidv7",
        "uuidv4",
        "pg_column_size",
        "to_regprocedure",
        "to_regproc",
        "to_regnamespace",
        "pg_get_expr",
        "pg_get_viewdef",
        "pg_get_functiondef",
        "current_schemas",
        "pg_has_role",
        "has_column_privilege",
        "has_function_privilege",
        "exists",
        # session-scoped advisory locks: released at the end of the session at worst
        "pg_advisory_lock",
        "pg_advisory_xact_lock",
        "pg_try_advisory_lock",
        "pg_try_advisory_xact_lock",
    }
)

def is_builtin_schema(schema: str | None) -> bool:
    """Whether a call with this schema (None: unqualified) may be a built-in."""
    return schema is None or schema in SYSTEM_SCHEMAS
