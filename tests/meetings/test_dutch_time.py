"""Dutch time end to end: meetings typed on DST switch days, stored as UTC, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from rooms.render import digest_text
from tests.clients import Api
from tests.meetings.test_digest import run_cli

# (what a person typed, the UTC start stored and served)
SWITCH_DAYS = [
    ("2026-03-29", "2026-03-29T08:00:00.000Z"),  # spring switch day: 10:00 summer time
    ("2026-10-25", "2026-10-25T09:00:00.000Z"),  # autumn switch day: 10:00 winter time
    ("2027-01-12", "2027-01-12T09:00:00.000Z"),  # a winter date
    ("2027-06-15", "2027-06-15T08:00:00.000Z"),  # a summer date
    ("2026-10-25T14:30", "2026-10-25T13:30:00.000Z"),  # a time without zone is Dutch
    ("2026-03-29T02:30", "2026-03-29T01:30:00.000Z"),  # the skipped hour moves forward
    ("2027-06-15T10:00:00Z", "2027-06-15T10:00:00.000Z"),  # with a zone: as given
]


async def test_meetings_posted_by_api_start_at_dutch_time(api: Api) -> None:
    """POST /api/meetings reads each typed date as Europe/Amsterdam and serves it as UTC."""
    for i, (typed, served) in enumerate(SWITCH_DAYS):
        body = {"slug": f"dst-{i}", "title": "Bijeenkomst", "theme": "theme-two"}
        r = await api.post("ada", "/api/meetings", {**body, "date": typed, "place": "Goes"})
        assert r.status_code == 201, r.text
        assert r.json()["meeting"]["date"] == served, typed
        again = await api.get("ann", f"/api/meetings/dst-{i}")
        assert again.json()["meeting"]["date"] == served, typed


async def test_meetings_loaded_from_the_community_file_start_at_dutch_time(
    api: Api, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`werkplaats load`: a TOML date, local date-time and offset date-time, across both switches."""
    toml = tmp_path / "meetings.toml"
    toml.write_text(
        '[[meeting]]\nslug = "lente"\ntitle = "Lente"\ntheme = "theme-two"\n'
        'date = 2026-03-29\nplace = "Goes"\n\n'
        '[[meeting]]\nslug = "herfst"\ntitle = "Herfst"\ntheme = "theme-two"\n'
        'date = 2026-10-25T14:30:00\nplace = "Goes"\n\n'
        '[[meeting]]\nslug = "zomer"\ntitle = "Zomer"\ntheme = "theme-two"\n'
        'date = 2027-06-15T10:00:00+02:00\nplace = "Goes"\n'
    )
    env = {"WERKPLAATS_DATABASE_URL": db_url}
    assert await run_cli(monkeypatch, env, "load", str(toml)) == 0
    expected = {
        "lente": "2026-03-29T08:00:00.000Z",
        "herfst": "2026-10-25T13:30:00.000Z",
        "zomer": "2027-06-15T08:00:00.000Z",
    }
    for slug, served in expected.items():
        r = await api.get("ann", f"/api/meetings/{slug}")
        assert r.json()["meeting"]["date"] == served, slug


async def test_a_ban_until_typed_without_zone_ends_at_dutch_time(api: Api) -> None:
    """The ban dialog sends `until` as typed; 12:00 on a summer day is 10:00 UTC."""
    until = f"{datetime.now(UTC).year + 1}-07-01T12:00"
    r = await api.post(
        "rita", "/api/rooms/area-a/bans", {"username": "amy", "reason": "rust", "until": until}
    )
    assert r.status_code == 201, r.text
    assert r.json()["ban"]["until"] == f"{until[:10]}T10:00:00.000Z"


@pytest.mark.parametrize(
    ("start", "shown"),
    [
        ("2026-03-29T08:00:00.000Z", "Op zondag 29 maart 2026, 10:00 is"),
        ("2026-10-25T09:00:00.000Z", "Op zondag 25 oktober 2026, 10:00 is"),
        ("2026-11-30T23:30:00.000Z", "Op dinsdag 1 december 2026, 00:30 is"),
    ],
)
def test_the_digest_writes_dutch_time(start: str, shown: str) -> None:
    """The mail says the meeting's Dutch day and hour, across both switches and midnight."""
    meeting = {"title": "Bijeenkomst", "date": start, "place": ""}
    empty = {"open_questions": [], "action_items": [], "decisions": []}
    text = digest_text("Ann", meeting, {"rooms": []}, empty, "http://127.0.0.1")
    assert shown in text
