"""Fixtures of the public pages' tests: a lesson quoting messages of an area room."""

from __future__ import annotations

from typing import Any

from tests.clients import Api

LESSON = {
    "kind": "lesson",
    "title": "Samen met het waterschap peilbesluiten voorbereiden",
    "body": "Een gezamenlijke keukentafel werkte beter dan losse brieven.",
    "context": "Bodemdaling in het veenweidegebied.",
    "worked": "Vroeg beginnen met de boeren.",
    "did_not_work": "Alleen formele inspraakavonden.",
    "area": "Veenweiden in Friesland",
    "theme": "Water en bodem",
    "layers": ["waterschap", "gemeente"],
}


async def make_lesson(
    api: Api, by: str, room: str, message_ids: list[int], **changes: Any
) -> dict[str, Any]:
    """Offer a lesson as `by`; returns the publication (asserts 201)."""
    body = {**LESSON, "room": room, "message_ids": message_ids, **changes}
    r = await api.post(by, "/api/publications", body)
    assert r.status_code == 201, r.text
    publication: dict[str, Any] = r.json()["publication"]
    return publication


async def agree(api: Api, username: str, pid: int, *, show_name: bool = False) -> dict[str, Any]:
    r = await api.post(
        username, f"/api/publications/{pid}/consent", {"consent": True, "show_name": show_name}
    )
    assert r.status_code == 200, r.text
    publication: dict[str, Any] = r.json()["publication"]
    return publication
