from tests.servers import s3_env, s3_server, sshd  # noqa: F401 - fixtures
