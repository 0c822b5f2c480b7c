"""Account screens in chromium: an invitation accepted by keyboard, the profile, the user list."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.browser.conftest import Server
from tests.browser.ui import assert_accessible, assert_clean, go_to, login, shot, signed_in

pytestmark = pytest.mark.browser

AREA = "veenweiden-aldeboarn"


def invite(server: Server, email: str) -> str:
    """The demo admin invites `email` to the area's team; the link's path and fragment."""
    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        r = http.post(
            "/api/session", json={"username": "beheer", "password": server.logins["beheer"]}
        )
        token = r.json()["token"]
        r = http.post(
            "/api/invitations",
            json={
                "email": email,
                "organisation": "Gemeente Smallingerland",
                "layer": "gemeente",
                "areas": [AREA],
                "display_name": "Nieuwe Deelnemer",
            },
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 201, r.text
    url = urlsplit(r.json()["invitation"]["url"])
    return f"{url.path}#{url.fragment}"


def test_invitation_accepted_by_keyboard_then_profile_and_users(
    open_tab, server: Server, axe_source: Path
) -> None:
    """Invite → accept with the keyboard → first room; the profile and user list pass axe."""
    tab = open_tab()
    page = tab.page
    page.goto(invite(server, "nieuw@example.nl"))
    page.get_by_role("heading", name="Welkom bij de Werkplaats").wait_for()
    assert_accessible(tab, axe_source, "invitation")
    shot(tab, "20-uitnodiging")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "invite-username"
    page.keyboard.type("nieuwkomer")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "invite-name"
    page.keyboard.press("Tab")
    page.keyboard.type("kort")
    page.keyboard.press("Enter")
    page.get_by_role("status").filter(has_text="minstens 12 tekens").wait_for()
    page.locator("#invite-password").fill("")
    page.locator("#invite-password").focus()
    page.keyboard.type("slootjes-en-weiden-2026")
    page.keyboard.press("Enter")
    page.locator("#topnav").wait_for(state="visible")
    page.locator(f'#sidebar a[data-slug="{AREA}"]').first.wait_for()

    go_to(tab, "Profiel")
    page.get_by_role("heading", name="Mijn profiel").wait_for()
    assert page.get_by_label("Organisatie").input_value() == "Gemeente Smallingerland"
    assert_accessible(tab, axe_source, "profile")
    shot(tab, "21-profiel")
    page.get_by_label("Organisatie").fill("Gemeente Opsterland")
    page.get_by_role("button", name="Gegevens opslaan").click()
    page.get_by_role("status").filter(has_text="opgeslagen").wait_for()

    # A second browser of the same member is signed out by a password change in the first.
    other = open_tab()
    login(other, "nieuwkomer", "slootjes-en-weiden-2026")
    page.get_by_label("Huidig wachtwoord").fill("slootjes-en-weiden-2026")
    page.get_by_label("Nieuw wachtwoord").fill("kwelders-en-kreken-2027")
    page.get_by_role("button", name="Wachtwoord wijzigen").click()
    page.get_by_role("status").filter(has_text="andere sessies zijn beëindigd").wait_for()
    other.page.get_by_role("heading", name="Inloggen bij de Werkplaats").wait_for()
    page.locator("#topnav").wait_for(state="visible")
    assert_clean(tab)

    admin = signed_in(open_tab, server, "beheer")
    go_to(admin, "Gebruikers")
    admin.page.get_by_role("heading", name="Gebruikers", exact=True).wait_for()
    admin.page.get_by_role("searchbox", name="Zoeken").fill("Opsterland")
    admin.page.get_by_role("button", name="Zoeken").click()
    admin.page.get_by_role("cell", name="nieuwkomer", exact=True).wait_for()
    assert_accessible(admin, axe_source, "users")
    shot(admin, "22-gebruikers")
    admin.page.get_by_role("button", name="nieuwkomer bewerken").click()
    moderates = admin.page.get_by_role("group", name="Moderator van")
    moderates.get_by_label("Friese Veenweiden", exact=False).check()
    admin.page.get_by_role("button", name="Opslaan").click()
    admin.page.get_by_role("status").filter(has_text="Opgeslagen").wait_for()
    admin.page.get_by_role("button", name="nieuwkomer blokkeren").click()
    admin.page.get_by_role("cell", name="geblokkeerd", exact=True).wait_for()
    assert_clean(admin)
