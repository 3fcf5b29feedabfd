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
        "nextval",
        "currval",
        "lastval",
        "txid_current",
        "pg_current_xact_id",
        "pg_sleep",
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
        "exists",
        # session-scoped advisory locks: released at the end of the session at worst
        "pg_advisory_lock",
        "pg_advisory_unlock",
        "pg_advisory_xact_lock",
        "pg_try_advisory_lock",
        "pg_try_advisory_xact_lock",
    }
)

def is_builtin_schema(schema: str | None) -> bool:
    return schema is None or schema in SYSTEM_SCHEMAS
