"""Login throttling with Redis: counters shared by processes, and no outage lockout."""

from __future__ import annotations

import httpx

from tests.helpers import free_port, make_settings, password_of, running_server


async def test_failures_on_one_process_block_the_other(
    db_url: str, redis_url: str, redis_prefix: str, client: httpx.AsyncClient
) -> None:
    """Spreading a brute force over two processes gains nothing: the counters are shared."""
    settings = make_settings(db_url, redis_url=redis_url, redis_prefix=redis_prefix)
    async with running_server(settings) as one, running_server(settings) as two:
        for i in range(5):
            base = one if i % 2 else two
            r = await client.post(
                f"{base}/api/session", json={"username": "ann", "password": "nope"}
            )
            assert r.status_code == 401
        r = await client.post(
            f"{one}/api/session", json={"username": "ann", "password": password_of("ann")}
        )
        assert r.status_code == 429
        assert int(r.headers["retry-after"]) >= 1


async def test_login_works_while_redis_is_unreachable(
    db_url: str, redis_prefix: str, client: httpx.AsyncClient
) -> None:
    """With Redis down the throttle counts in memory: logins still work and still throttle."""
    dead = f"redis://127.0.0.1:{free_port()}/0"
    settings = make_settings(db_url, redis_url=dead, redis_prefix=redis_prefix)
    async with running_server(settings) as base:
        r = await client.post(
            f"{base}/api/session", json={"username": "ann", "password": password_of("ann")}
        )
        assert r.status_code == 200
        codes = [
            (
                await client.post(f"{base}/api/session", json={"username": "amy", "password": "x"})
            ).status_code
            for _ in range(6)
        ]
        assert codes[-1] == 429
