"""Publications over the API: consent life, refusal, withdrawal, authorisation, audit."""

from __future__ import annotations

from persistence.db import Database
from tests.clients import Api
from tests.moderation.conftest import audit_rows, post
from tests.public.conftest import LESSON, agree, make_lesson


async def test_lesson_is_pending_until_every_author_agrees(api: Api, database: Database) -> None:
    """A lesson lists the quoted messages' authors and is published by the last consent."""
    q = await post(database, "area-a", "ann", "Hoe krijgen we de boeren aan tafel?")
    a = await post(database, "area-a", "amy", "Begin bij de keukentafel, niet in het gemeentehuis.")
    made = await make_lesson(api, "rita", "area-a", [q, a])
    assert made["kind"] == "lesson" and made["status"] == "pending"
    assert [(x["username"], x["consent"]) for x in made["authors"]] == [
        ("ann", None),
        ("amy", None),
    ]
    pid = made["id"]
    assert (await api.get(None, f"/openbaar/{pid}")).status_code == 404
    assert (await agree(api, "ann", pid, show_name=True))["status"] == "pending"
    assert (await api.get(None, f"/openbaar/{pid}")).status_code == 404
    assert (await agree(api, "amy", pid))["status"] == "published"
    page = await api.get(None, f"/openbaar/{pid}")
    assert page.status_code == 200 and LESSON["title"] in page.text
    assert "Ann Aalders" in page.text and "Amy Arends" not in page.text
    actions = [e.action for e in await audit_rows(database) if e.action.startswith("publication")]
    assert actions == [
        "publication_create",
        "publication_consent",
        "publication_consent",
        "publication_published",
    ]


async def test_a_refusal_keeps_it_pending(api: Api, database: Database) -> None:
    """One refusal keeps the lesson unpublished even when the others agree."""
    q = await post(database, "area-a", "ann", "vraag")
    a = await post(database, "area-a", "amy", "antwoord")
    pid = (await make_lesson(api, "mo", "area-a", [q, a]))["id"]
    r = await api.post("ann", f"/api/publications/{pid}/consent", {"consent": False})
    assert r.status_code == 200 and r.json()["publication"]["status"] == "pending"
    assert (await agree(api, "amy", pid))["status"] == "pending"
    assert (await api.get(None, f"/openbaar/{pid}")).status_code == 404
    assert LESSON["title"] not in (await api.get(None, "/openbaar")).text
    assert LESSON["title"] not in (await api.get(None, "/openbaar/feed.xml")).text
    assert [e.action for e in await audit_rows(database, "publication_refuse")] == [
        "publication_refuse"
    ]


async def test_withdrawal_removes_it_from_page_and_feed_at_once(
    api: Api, database: Database
) -> None:
    """A listed author's DELETE: 204, and the page, list and feed no longer show it."""
    mid = await post(database, "area-a", "ann", "Wat werkte: samen de schouw lopen.")
    pid = (await make_lesson(api, "rita", "area-a", [mid]))["id"]
    await agree(api, "ann", pid)
    assert LESSON["title"] in (await api.get(None, "/openbaar/feed.xml")).text
    assert LESSON["title"] in (await api.get(None, "/openbaar")).text
    r = await api.call("ann", "DELETE", f"/api/publications/{pid}")
    assert r.status_code == 204, r.text
    assert (await api.get(None, f"/openbaar/{pid}")).status_code == 404
    assert LESSON["title"] not in (await api.get(None, "/openbaar")).text
    assert LESSON["title"] not in (await api.get(None, "/openbaar/feed.xml")).text
    again = await api.call("ann", "DELETE", f"/api/publications/{pid}")
    assert again.status_code == 409
    later = await api.post("ann", f"/api/publications/{pid}/consent", {"consent": True})
    assert later.status_code == 409
    assert len(await audit_rows(database, "publication_withdraw")) == 1


async def test_who_may_do_what(api: Api, database: Database) -> None:
    """Members may not offer lessons, non-authors may not answer nor withdraw."""
    mid = await post(database, "area-a", "ann", "iets")
    body = {**LESSON, "room": "area-a", "message_ids": [mid]}
    assert (await api.post("amy", "/api/publications", body)).status_code == 403
    assert (await api.post(None, "/api/publications", body)).status_code == 401
    pid = (await make_lesson(api, "rita", "area-a", [mid]))["id"]
    r = await api.post("amy", f"/api/publications/{pid}/consent", {"consent": True})
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert (await api.call("amy", "DELETE", f"/api/publications/{pid}")).status_code == 403
    assert (await api.get("amy", f"/api/publications/{pid}")).status_code == 403
    assert (await api.get("ann", f"/api/publications/{pid}")).status_code == 200
    missing = await api.post("ann", "/api/publications/999999/consent", {"consent": True})
    assert missing.status_code == 404
    # A moderator withdraws a publication they are not listed in.
    assert (await api.call("mo", "DELETE", f"/api/publications/{pid}")).status_code == 204


async def test_a_room_the_moderator_cannot_read_is_refused(api: Api, database: Database) -> None:
    """rita moderates area-a only: quoting area-b is 403; a message of another room is 404."""
    other = await post(database, "area-b", "bob", "geheim van gebied B")
    body = {**LESSON, "room": "area-b", "message_ids": [other]}
    r = await api.post("rita", "/api/publications", body)
    assert r.status_code == 403, r.text
    mine = {**LESSON, "room": "area-a", "message_ids": [other]}
    assert (await api.post("rita", "/api/publications", mine)).status_code == 404


async def test_hidden_messages_and_bad_bodies_are_refused(api: Api, database: Database) -> None:
    """A hidden message cannot be quoted; missing fields and unknown layers are 400."""
    mid = await post(database, "area-a", "ann", "weg ermee")
    hide = await api.post("rita", f"/api/rooms/area-a/messages/{mid}/hide", {"reason": "x"})
    assert hide.status_code == 200
    body = {**LESSON, "room": "area-a", "message_ids": [mid]}
    assert (await api.post("rita", "/api/publications", body)).status_code == 404
    ok = await post(database, "area-a", "ann", "mag wel")
    for bad in (
        {"title": ""},
        {"message_ids": []},
        {"layers": ["koninkrijk"]},
        {"title": "x" * 201},
        {"extra": 1},
    ):
        r = await api.post("rita", "/api/publications", {**body, "message_ids": [ok], **bad})
        assert r.status_code == 400, (bad, r.text)
    no_room = {k: v for k, v in body.items() if k != "room"}
    assert (await api.post("rita", "/api/publications", no_room)).status_code == 400


async def test_requests_list_for_the_badge(api: Api, database: Database) -> None:
    """`mine=pending` lists what the member has not answered; `listed` keeps the rest."""
    mid = await post(database, "area-a", "ann", "tekst")
    pid = (await make_lesson(api, "rita", "area-a", [mid]))["id"]
    pending = (await api.get("ann", "/api/publications?mine=pending")).json()["publications"]
    assert [p["id"] for p in pending] == [pid]
    assert pending[0]["mine"] == {"consent": None, "show_name": False}
    assert pending[0]["quotes"][0]["body"] == "tekst"
    assert (await api.get("amy", "/api/publications?mine=pending")).json()["publications"] == []
    await agree(api, "ann", pid)
    assert (await api.get("ann", "/api/publications?mine=pending")).json()["publications"] == []
    listed = (await api.get("ann", "/api/publications?mine=listed")).json()["publications"]
    assert [(p["id"], p["status"], p["url"]) for p in listed] == [
        (pid, "published", f"/openbaar/{pid}")
    ]
    created = (await api.get("rita", "/api/publications?mine=created")).json()["publications"]
    assert [p["id"] for p in created] == [pid]
    assert (await api.get("ann", "/api/publications?mine=created")).json()["publications"] == []


async def test_a_refusal_after_publication_unpublishes(api: Api, database: Database) -> None:
    """An author who changes their answer to no takes it off the pages at once."""
    mid = await post(database, "area-a", "ann", "tekst")
    pid = (await make_lesson(api, "rita", "area-a", [mid]))["id"]
    await agree(api, "ann", pid)
    r = await api.post("ann", f"/api/publications/{pid}/consent", {"consent": False})
    assert r.json()["publication"]["status"] == "pending"
    assert (await api.get(None, f"/openbaar/{pid}")).status_code == 404
    assert [e.action for e in await audit_rows(database, "publication_unpublished")] == [
        "publication_unpublished"
    ]


async def test_hiding_a_quoted_message_withdraws_the_lesson(api: Api, database: Database) -> None:
    """Consent was given to a text; once a moderator hides it, the lesson goes at once."""
    mid = await post(database, "area-a", "ann", "Wat werkte: samen de schouw lopen.")
    pid = (await make_lesson(api, "rita", "area-a", [mid]))["id"]
    await agree(api, "ann", pid)
    assert (await api.get(None, f"/openbaar/{pid}")).status_code == 200
    r = await api.post("rita", f"/api/rooms/area-a/messages/{mid}/hide", {"reason": "privé"})
    assert r.status_code == 200, r.text
    assert (await api.get(None, f"/openbaar/{pid}")).status_code == 404
    assert LESSON["title"] not in (await api.get(None, "/openbaar/feed.xml")).text
    shown = await api.get("ann", f"/api/publications/{pid}")
    assert shown.json()["publication"]["status"] == "withdrawn"
    [entry] = await audit_rows(database, "publication_withdraw")
    assert entry.reason == "quoted message hidden" and entry.actor == "rita"
