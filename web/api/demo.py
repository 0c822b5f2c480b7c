"""`GET /api/demo`: the demo accounts for the login page, only under `serve --demo`.

The demo's passwords are public (printed by `werkplaats demo`, listed in web/demo.py);
outside the demo this answers an empty list, so no real server ever shows a login.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from web.deps import services
from web.openapi import api
from web.responses import JSON
from web.wire.session import DemoLogins


async def demo_logins(request: Request) -> Response:
    """The demo's usernames and passwords when this server serves the demo."""
    if not services(request).settings.demo:
        return JSON({"logins": []})
    from web.demo import DEMO_LOGINS

    return JSON({"logins": [{"username": u, "password": p, "about": a} for u, p, a in DEMO_LOGINS]})


def routes() -> list[BaseRoute]:
    return [
        api(
            "/api/demo",
            "GET",
            demo_logins,
            "the demo accounts (only under `serve --demo`; otherwise an empty list)",
            "session",
            out=DemoLogins,
            auth=False,
        )
    ]
