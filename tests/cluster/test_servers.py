"""The cluster profile's PostgreSQL and Redis start from their definitions and take real work."""

from __future__ import annotations

import redis
from sqlalchemy import create_engine, text

from tests.support.servers import postgres_server, redis_server


def test_postgres_server_starts_and_keeps_rows() -> None:
    with postgres_server() as server:
        engine = create_engine(server.url(), future=True)
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE note (body text)"))
            conn.execute(text("INSERT INTO note VALUES ('नमस्ते مرحبا')"))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT body FROM note")).scalar_one() == "नमस्ते مرحبا"
        engine.dispose()


def test_redis_server_starts_and_answers() -> None:
    with redis_server() as server:
        client = redis.Redis.from_url(server.url())
        client.set("lock", "1")
        assert client.get("lock") == b"1"
        client.close()
