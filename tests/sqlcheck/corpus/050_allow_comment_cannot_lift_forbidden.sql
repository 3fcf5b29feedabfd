-- expect: forbidden ban-drop unused-allow-comment
-- pgrunbook: allow ban-drop the table is unused, I promise
DROP TABLE legacy_imports;
