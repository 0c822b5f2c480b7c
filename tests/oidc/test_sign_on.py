"""Single sign-on against a real OpenID provider on loopback (npm oidc-provider)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import update

from persistence.db import Database
from persistence.models import User
from tests.clients import Api
from tests.helpers import password_of
from tests.moderation.conftest import audit_rows
from tests.oidc.conftest import Sso

FORM_ACTION = re.compile(r'<form[^>]*action="([^"]+)"')


async def start(http: httpx.AsyncClient, sso: Sso) -> httpx.Response:
    """From the login button to the provider's sign-in form."""
    r = await http.get(f"{sso.base}/auth/oidc/test/login")
    assert r.status_code == 302, r.text
    query = parse_qs(urlsplit(r.headers["location"]).query)
    assert query["code_challenge_method"] == ["S256"] and query["nonce"] and query["state"]
    return await follow(http, r, sso)


async def follow(http: httpx.AsyncClient, r: httpx.Response, sso: Sso) -> httpx.Response:
    """Follow redirects up to (not into) the Werkplaats callback."""
    while r.status_code in (302, 303) and "/callback" not in r.headers["location"]:
        r = await http.get(httpx.URL(str(r.url)).join(r.headers["location"]))
    return r


async def sign_in(http: httpx.AsyncClient, sso: Sso, login: str) -> httpx.Response:
    """Sign in at the provider as `login`; the response that reaches the callback's redirect."""
    form = await start(http, sso)
    action = FORM_ACTION.search(form.text)
    assert action is not None, form.text
    r = await http.post(
        httpx.URL(str(form.url)).join(action.group(1)),
        data={"prompt": "login", "login": login, "password": "wat-dan-ook"},
    )
    r = await follow(http, r, sso)
    assert "/callback" in r.headers["location"], r.text
    return r


async def test_an_existing_account_signs_on(sso: Sso, database: Database) -> None:
    """A verified e-mail of an account: a session cookie, as a login, and an audit entry."""
    async with database.write() as s:
        await s.execute(update(User).where(User.username == "ann").values(email="ann@example.nl"))
    async with httpx.AsyncClient(timeout=10) as http:
        back = await sign_in(http, sso, "ann-sso")
        done = await http.get(back.headers["location"])
        assert done.status_code == 303 and done.headers["location"] == "/"
        me = await http.get(f"{sso.base}/api/me")
        assert me.status_code == 200 and me.json()["user"]["username"] == "ann"
        replay = await http.get(back.headers["location"])
        assert replay.status_code in (403, 410)  # the state cookie is gone, the state used
    entries = [e for e in await audit_rows(database) if e.action == "sign_on"]
    assert entries and entries[-1].target == "ann"


async def test_a_replayed_state_is_gone(sso: Sso, database: Database) -> None:
    """The callback's state works once, even with the browser's cookie put back."""
    async with database.write() as s:
        await s.execute(update(User).where(User.username == "ann").values(email="ann@example.nl"))
    async with httpx.AsyncClient(timeout=10) as http:
        back = await sign_in(http, sso, "ann-sso")
        state = parse_qs(urlsplit(back.headers["location"]).query)["state"][0]
        assert (await http.get(back.headers["location"])).status_code == 303
        http.cookies.set("werkplaats_oidc", state, domain="127.0.0.1", path="/auth/oidc/")
        replay = await http.get(back.headers["location"])
        assert replay.status_code == 410 and "verlopen of al gebruikt" in replay.text


async def test_unverified_unknown_and_disabled_are_refused(
    sso: Sso, database: Database, api: Api
) -> None:
    """An unverified e-mail, an address of no account, and a disabled account get 403."""
    async with database.write() as s:
        await s.execute(update(User).where(User.username == "ann").values(email="ann@example.nl"))
        await s.execute(update(User).where(User.username == "amy").values(email="amy@example.nl"))
    for login in ("unverified", "stranger"):
        async with httpx.AsyncClient(timeout=10) as http:
            back = await sign_in(http, sso, login)
            refused = await http.get(back.headers["location"])
            assert refused.status_code == 403, login
            assert (await http.get(f"{sso.base}/api/me")).status_code == 401
    sso_api = Api(api.client, sso.base)
    r = await sso_api.call("ada", "PATCH", "/api/users/amy", {"disabled": True})
    assert r.status_code == 200
    async with httpx.AsyncClient(timeout=10) as http:
        back = await sign_in(http, sso, "amy-sso")
        assert (await http.get(back.headers["location"])).status_code == 403


async def test_an_invitation_lets_a_new_member_sign_on(sso: Sso, api: Api) -> None:
    """An open invitation to the verified address makes the account; the link is then used."""
    sso_api = Api(api.client, sso.base)
    r = await sso_api.post(
        "ada", "/api/invitations", {"email": "nieuw@example.nl", "areas": ["area-a"]}
    )
    assert r.status_code == 201
    token = r.json()["invitation"]["url"].rsplit("/", 1)[1]
    async with httpx.AsyncClient(timeout=10) as http:
        back = await sign_in(http, sso, "invited")
        assert (await http.get(back.headers["location"])).status_code == 303
        me = (await http.get(f"{sso.base}/api/me")).json()["user"]
        assert me["username"] == "nieuw"
        rooms = (await http.get(f"{sso.base}/api/rooms")).json()["rooms"]
        assert "area-a" in {room["slug"] for room in rooms}
    assert (await sso_api.get(None, f"/api/invitations/{token}")).status_code == 410


async def test_an_unknown_provider_and_a_foreign_state_are_refused(sso: Sso) -> None:
    """404 for a provider not configured; 403 for a callback whose state this browser lacks."""
    async with httpx.AsyncClient(timeout=10) as http:
        assert (await http.get(f"{sso.base}/auth/oidc/nope/login")).status_code == 404
        r = await http.get(f"{sso.base}/auth/oidc/test/callback?state=abc&code=def")
        assert r.status_code == 403


async def test_logout_ends_the_providers_session_too(sso: Sso, database: Database) -> None:
    """RP-Initiated Logout: the logout names the provider's end_session_endpoint with
    id_token_hint, post_logout_redirect_uri and state; following it ends the provider's
    session, so the next sign-on shows the provider's form again."""
    async with database.write() as s:
        await s.execute(update(User).where(User.username == "ann").values(email="ann@example.nl"))
    async with httpx.AsyncClient(timeout=10) as http:
        back = await sign_in(http, sso, "ann-sso")
        await http.get(back.headers["location"])
        origin = {"Origin": sso.base}
        out = await http.delete(f"{sso.base}/api/session", headers=origin)
        assert out.status_code == 204
        where = urlsplit(out.headers["logout-location"])
        assert f"{where.scheme}://{where.netloc}" == sso.issuer
        query = parse_qs(where.query)
        assert query["post_logout_redirect_uri"] == [f"{sso.base}/"] and query["state"][0]
        assert query["id_token_hint"][0].count(".") == 2
        assert (await http.get(f"{sso.base}/api/me")).status_code == 401
        # Before the provider's logout, its session signs in at once, without a form.
        page = await http.get(out.headers["logout-location"])
        assert page.status_code == 200, page.text
        action = FORM_ACTION.search(page.text)
        assert action is not None, page.text
        xsrf = re.search(r'name="xsrf" value="([^"]+)"', page.text)
        data = {"logout": "yes", **({"xsrf": xsrf.group(1)} if xsrf else {})}
        done = await http.post(httpx.URL(str(page.url)).join(action.group(1)), data=data)
        while done.status_code in (302, 303) and not done.headers["location"].startswith(sso.base):
            done = await http.get(httpx.URL(str(done.url)).join(done.headers["location"]))
        assert done.status_code in (302, 303), done.text
        home = urlsplit(done.headers["location"])
        assert f"{home.scheme}://{home.netloc}{home.path}" == f"{sso.base}/"
        assert parse_qs(home.query)["state"] == query["state"]
        # Signed out at the provider: signing on shows its form again.
        form = await start(http, sso)
        assert form.status_code == 200 and FORM_ACTION.search(form.text), form.text
        # A second logout (no session) names no provider address.
        again = await http.delete(f"{sso.base}/api/session", headers=origin)
        assert "logout-location" not in again.headers


async def test_a_password_logout_names_no_provider(sso: Sso, api: Api) -> None:
    """A session from a password login ends with the plain 204."""
    async with httpx.AsyncClient(timeout=10) as http:
        r = await http.post(
            f"{sso.base}/api/session", json={"username": "ann", "password": password_of("ann")}
        )
        assert r.status_code == 200
        out = await http.delete(f"{sso.base}/api/session", headers={"Origin": sso.base})
        assert out.status_code == 204 and "logout-location" not in out.headers
