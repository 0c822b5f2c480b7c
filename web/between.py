"""Routes of the between-meetings features (issue 9), mounted by `web.app.routes()`."""

from __future__ import annotations

from starlette.routing import BaseRoute

from web.api import agenda, catchup, marks, overview, preferences, verslag


def routes() -> list[BaseRoute]:
    return [
        *catchup.routes(),
        *marks.routes(),
        *agenda.routes(),
        *overview.routes(),
        *preferences.routes(),
        *verslag.routes(),
    ]
