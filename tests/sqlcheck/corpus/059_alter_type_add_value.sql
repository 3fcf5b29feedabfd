-- expect: review review-alter-type
ALTER TYPE "public"."user_role" ADD VALUE IF NOT EXISTS 'admin';
