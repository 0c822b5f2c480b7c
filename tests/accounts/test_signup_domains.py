"""Self-sign-up through single sign-on only for the e-mail domains a provider allows."""

from __future__ import annotations

from datetime import timedelta

import pytest

from persistence import accounts
from persistence.db import Database
from persistence.models import utcnow
from rooms.errors import Forbidden
from tests.moderation.conftest import audit_rows
from web.actions.accounts import sign_on

DOMAINS = ("Provincie.example.NL",)


async def signed_on(database: Database, email: str, n: int, domains: tuple[str, ...] = DOMAINS):
    return await sign_on(
        database,
        "test",
        email,
        "Nieuwe Deelnemer",
        domains,
        address="127.0.0.1",
        session_hash=f"{n:064x}",
        session_expires=utcnow() + timedelta(days=1),
    )


# The sign-on act's reads and writes are the ORM's, the same SQL on both databases.
@pytest.mark.parametrize("backend", ["sqlite"])
async def test_only_allowed_domains_sign_up(database: Database) -> None:
    with pytest.raises(Forbidden):
        await signed_on(database, "iemand@elders.example.nl", 1)
    with pytest.raises(Forbidden):
        # Another provider allows nothing: the same address gets no account there.
        await signed_on(database, "nieuw@provincie.example.nl", 2, domains=())
    # A subdomain is not the domain.
    with pytest.raises(Forbidden):
        await signed_on(database, "x@sub.provincie.example.nl", 3)
    user = await signed_on(database, "Nieuw@Provincie.Example.NL", 4)
    assert user.email == "nieuw@provincie.example.nl" and user.password_hash is None
    assert user.display_name == "Nieuwe Deelnemer"
    again = await signed_on(database, "nieuw@provincie.example.nl", 5)
    assert again.id == user.id  # the account found by its address, not made twice
    async with database.read() as session:
        assert await accounts.user_by_name(session, "iemand") is None
    entries = [e for e in await audit_rows(database) if e.action == "sign_on"]
    assert [e.details["by"] for e in entries] == ["domain", "account"]
