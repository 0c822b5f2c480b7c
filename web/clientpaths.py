"""The web client's paths (web/static/js/router.js): each is answered with index.html.

The client routes with the History API, so `/kamer/<slug>` or `/zoeken?q=…` may be
loaded directly (a bookmark, a reload, a link in a mail). Only these first segments are
the client's: every other unknown path stays a 404, and none of them can shadow `/api`,
`/ws`, `/static`, `/openbaar` or the other server routes.
"""

from __future__ import annotations

import re

from starlette.convertors import Convertor, register_url_convertor

# The first path segments of the client's screens; router.js's ROOTS is the same list.
CLIENT_ROOTS = (
    "kamer",
    "zoeken",
    "moderatie",
    "bijpraten",
    "overzicht",
    "bijeenkomst",
    "verslag",
    "delen",
    "profiel",
    "gebruikers",
    "uitnodiging",
    "wachtwoord-herstellen",
    "woordenlijst",
)


class ClientPath(Convertor[str]):
    """A client path without its leading slash: a client root, then anything below it."""

    regex = "(?:" + "|".join(re.escape(r) for r in CLIENT_ROOTS) + ")(?:/.*)?"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("client", ClientPath())
# The route that answers the client's paths with its page: `/{page:client}`.
CLIENT_ROUTE = "/{page:client}"
