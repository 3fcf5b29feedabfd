-- expect: review review-select
SELECT '-- pgrunbook: allow review-select not a comment';
