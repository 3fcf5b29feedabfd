-- expect: forbidden ban-dynamic-sql
DO LANGUAGE plpython3u $$
plpy.execute("DELETE FROM users")
$$;
