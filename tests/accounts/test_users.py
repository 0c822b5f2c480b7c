"""The admins' user list and account changes: role, teams, names, disabling."""

from __future__ import annotations

import httpx

from persistence.db import Database
from tests.clients import Api, OpenClient, wait_closed
from tests.helpers import bearer, login, password_of
from tests.moderation.conftest import audit_rows


async def test_list_and_search_users(api: Api) -> None:
    """Admins list users with their teams and search by name or organisation; others get 403."""
    everyone = await api.get("ada", "/api/users")
    assert everyone.status_code == 200
    names = [u["username"] for u in everyone.json()["users"]]
    assert names == sorted(names) and {"ann", "bob", "ada"} <= set(names)
    found = (await api.get("ada", "/api/users?q=waterschap")).json()["users"]
    assert [u["username"] for u in found] == ["amy"]
    assert found[0]["areas"] == ["area-a"] and found[0]["disabled"] is False
    assert (await api.get("ada", "/api/users?q=100%25")).json()["users"] == []
    rita = (await api.get("ada", "/api/users?q=rita")).json()["users"][0]
    assert rita["moderates"] == ["area-a"]
    assert (await api.get("mo", "/api/users")).status_code == 403


async def test_patch_changes_fields_teams_and_role(api: Api, database: Database) -> None:
    """Fields, teams and role change; audited; an unknown user is 404 and an unknown area 400."""
    r = await api.call(
        "ada",
        "PATCH",
        "/api/users/bob",
        {
            "display_name": "Bob B.",
            "organisation": "Rijkswaterstaat",
            "layer": "rijk",
            "areas": ["area-a"],
            "role": "moderator",
        },
    )
    assert r.status_code == 200, r.text
    user = r.json()["user"]
    assert (user["display_name"], user["layer"], user["role"], user["areas"]) == (
        "Bob B.",
        "rijk",
        "moderator",
        ["area-a"],
    )
    assert "update_user" in [e.action for e in await audit_rows(database)]
    assert (
        await api.call("ada", "PATCH", "/api/users/nobody", {"layer": "rijk"})
    ).status_code == 404
    bad = await api.call("ada", "PATCH", "/api/users/bob", {"areas": ["nope"]})
    assert bad.status_code == 400
    assert (await api.call("ann", "PATCH", "/api/users/bob", {"layer": "rijk"})).status_code == 403
    own = await api.call("ada", "PATCH", "/api/users/ada", {"disabled": True})
    assert own.status_code == 409


async def test_leaving_a_team_removes_the_room(
    api: Api, server: str, open_client: OpenClient
) -> None:
    """Taken out of an area team, the user's open socket gets `removed` for that room."""
    ann = await open_client(server, "ann")
    await ann.subscribe("area-a", since=None)
    r = await api.call("ada", "PATCH", "/api/users/ann", {"areas": []})
    assert r.status_code == 200
    removed = await ann.wait_for(lambda f: f.get("type") == "removed", timeout=5)
    assert removed["room"] == "area-a"


async def test_disable_ends_sessions_and_login(
    api: Api, server: str, open_client: OpenClient, client: httpx.AsyncClient, database: Database
) -> None:
    """Disabling closes sockets (1008), ends tokens, and login answers 401 bad_credentials."""
    socket = await open_client(server, "amy")
    token = await login(client, server, "amy")
    r = await api.call("ada", "PATCH", "/api/users/amy", {"disabled": True, "reason": "vertrokken"})
    assert r.status_code == 200 and r.json()["user"]["disabled"] is True
    await wait_closed(socket)
    assert 1008 in socket.close_codes
    assert (await client.get(f"{server}/api/me", headers=bearer(token))).status_code == 401
    refused = await api.post(
        None, "/api/session", {"username": "amy", "password": password_of("amy")}
    )
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "bad_credentials"
    assert "disable_user" in [e.action for e in await audit_rows(database)]
    back = await api.call("ada", "PATCH", "/api/users/amy", {"disabled": False})
    assert back.status_code == 200 and back.json()["user"]["disabled"] is False
    again = await api.post(
        None, "/api/session", {"username": "amy", "password": password_of("amy")}
    )
    assert again.status_code == 200


async def test_export_is_the_callers_own_data(
    api: Api, server: str, open_client: OpenClient
) -> None:
    """A JSON download with the caller's profile and messages, no password hash."""
    ann = await open_client(server, "ann")
    await ann.send("area-a", "mijn eigen bericht")
    r = await api.get("ann", "/api/me/export")
    assert r.status_code == 200
    assert r.headers["content-disposition"].startswith("attachment;")
    data = r.json()
    assert data["user"]["username"] == "ann" and data["user"]["areas"] == ["area-a"]
    assert [m["body"] for m in data["messages"]] == ["mijn eigen bericht"]
    assert "password" not in r.text and "token_hash" not in r.text
    assert (await api.get(None, "/api/me/export")).status_code == 401


async def test_members_edit_their_own_profile(api: Api, database: Database) -> None:
    """PATCH /api/me changes the caller's name, organisation and layer; audited."""
    r = await api.call(
        "ann",
        "PATCH",
        "/api/me",
        {"display_name": "Ann A.", "organisation": "Gemeente B", "layer": "rijk"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["user"]["organisation"] == "Gemeente B"
    assert (await api.get("ann", "/api/me")).json()["user"]["display_name"] == "Ann A."
    assert "update_profile" in [e.action for e in await audit_rows(database)]
    bad = await api.call("ann", "PATCH", "/api/me", {"layer": "koning"})
    assert bad.status_code == 400
