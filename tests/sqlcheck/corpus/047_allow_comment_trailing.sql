-- expect: allowed excepted:review-comment-on excepted:review-create-type
COMMENT ON COLUMN users.role IS 'who may validate'; -- pgrunbook: allow review-comment-on documentation only
/* pgrunbook: allow review-create-type enum reviewed in PR 42 */
CREATE TYPE "public"."bonus_kind" AS ENUM('daily', 'weekly');
