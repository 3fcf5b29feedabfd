-- expect: review
-- why: existing function (statically review): the DO block has no SQL of its own but PERFORMs ops.rotate_bonuses(), whose body deletes rows
DO $$
BEGIN
  PERFORM "ops"."rotate_bonuses"(interval '30 days');
END $$;
