"""The digest e-mail links a published verslag, with the notice for who missed the meeting."""

from __future__ import annotations

from persistence.db import Database
from persistence.models import utcnow
from tests.clients import Api
from tests.meetings.conftest import Store, days_ago
from tests.verslag.conftest import register
from web.digest import plan

URL = "https://werkplaats.example"


async def test_digest_links_the_published_report(
    api: Api, store: Store, database: Database
) -> None:
    """Ann's digest (text and HTML) names the report, tells her she missed it and links it."""
    await store.meeting("meeting-zero", "theme-one", days_ago(7))
    await register(database, "meeting-zero", "ann", attended=False)
    path = "/api/meetings/meeting-zero/report"
    assert (await api.call("mo", "PUT", path, {"body": "# Verslag"})).status_code == 200
    assert (await api.post("mo", f"{path}/publish")).status_code == 200
    assert (await api.call("ann", "PATCH", "/api/me", {"email": "ann@x.nl"})).status_code == 200
    run = await plan(database, "meeting-one", URL, utcnow())
    ann = next(d for d in run.digests if d.username == "ann")
    link = f"{URL}/verslag/meeting-zero"
    assert "Verslagen" in ann.text and link in ann.text and "Je was er niet op" in ann.text
    assert f'<a href="{link}">Verslag: Bijeenkomst meeting-zero</a>' in ann.html
