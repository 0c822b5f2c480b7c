"""The notification level per room and the push subscription calls, with their refusals."""

from __future__ import annotations

import base64

from tests.clients import Api
from tests.notify.conftest import subscribed
from tests.notify.pushservice import PushService, unb64


async def test_level_per_room_default_mentions(api: Api) -> None:
    """A level is kept per user and room; rooms not set show the default `mentions`."""
    r = await api.get("ann", "/api/me/notifications")
    assert r.json() == {"levels": {}, "default": "mentions", "push": True, "mail": True}
    r = await api.call("ann", "PUT", "/api/rooms/area-a/notifications", {"level": "all"})
    assert r.status_code == 200 and r.json() == {"room": "area-a", "level": "all"}
    r = await api.call("ann", "PUT", "/api/rooms/theme-one/notifications", {"level": "none"})
    assert r.status_code == 200
    r = await api.call("ann", "PUT", "/api/rooms/area-a/notifications", {"level": "mentions"})
    assert (await api.get("ann", "/api/me/notifications")).json()["levels"] == {
        "area-a": "mentions",
        "theme-one": "none",
    }
    assert (await api.get("amy", "/api/me/notifications")).json()["levels"] == {}


async def test_level_refusals(api: Api) -> None:
    """Only for a room the caller may read; only the three levels; a session is needed."""
    put = "PUT"
    r = await api.call("ann", put, "/api/rooms/area-b/notifications", {"level": "all"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    r = await api.call("ann", put, "/api/rooms/nope/notifications", {"level": "all"})
    assert r.status_code == 404
    r = await api.call("ann", put, "/api/rooms/area-a/notifications", {"level": "loud"})
    assert r.status_code == 400
    r = await api.call(None, put, "/api/rooms/area-a/notifications", {"level": "all"})
    assert r.status_code == 401


async def test_push_key_is_an_uncompressed_p256_point(api: Api) -> None:
    """`GET /api/push/key`: base64url of 65 bytes starting 0x04, the same on every call."""
    key = (await api.get("ann", "/api/push/key")).json()["key"]
    assert "=" not in key and len(unb64(key)) == 65 and unb64(key)[0] == 4
    assert (await api.get("bob", "/api/push/key")).json()["key"] == key
    assert (await api.get(None, "/api/push/key")).status_code == 401


async def test_subscribe_and_unsubscribe(api: Api, pushes: PushService) -> None:
    """201 on subscribe (again: still 201, one row); 204 on delete, also for an unknown one."""
    browser = await subscribed(api, pushes, "ann")
    r = await api.post("ann", "/api/me/push", browser.subscription())
    assert r.status_code == 201
    r = await api.call("ann", "DELETE", "/api/me/push", {"endpoint": browser.endpoint})
    assert r.status_code == 204
    r = await api.call("ann", "DELETE", "/api/me/push", {"endpoint": browser.endpoint})
    assert r.status_code == 204


async def test_subscription_refusals(api: Api, pushes: PushService) -> None:
    """An http, internal or credentialed endpoint, a bad or oversized key: 400."""
    good = pushes.browser("ann").subscription()
    bad_point = base64.urlsafe_b64encode(b"\x04" + b"\x01" * 64).rstrip(b"=").decode()
    cases = [
        {**good, "endpoint": "http://push.example.com/x"},
        {**good, "endpoint": "https://10.0.0.1/x"},
        {**good, "endpoint": "https://localhost/x"},
        {**good, "endpoint": "https://user:pw@push.example.com/x"},
        {**good, "endpoint": "http://127.0.0.2:1/x"},
        {**good, "keys": {**good["keys"], "p256dh": bad_point}},
        {**good, "keys": {**good["keys"], "p256dh": good["keys"]["p256dh"] * 2}},
        {**good, "keys": {**good["keys"], "auth": "A" * 40}},
        {**good, "extra": 1},
        {"endpoint": "https://push.example.com/" + "x" * 3000, "keys": good["keys"]},
    ]
    for body in cases:
        r = await api.post("ann", "/api/me/push", body)
        assert r.status_code == 400, body
