"""Account acts: disabling, enabling and pseudonymising a member's account."""

from __future__ import annotations

from persistence import archive
from persistence.accounts import user_by_name
from persistence.db import Database
from persistence.moderation import set_disabled
from web.actions.common import Acting
from web.actions.publish import NOTHING, Published


async def set_account_disabled(
    db: Database, acting: Acting, username: str, disabled: bool, reason: str = ""
) -> Published:
    """Disable an account (no login; its sessions end and its sockets close) or enable it."""
    acting.check_admin()
    async with db.write() as session:
        _, change = await set_disabled(session, username, disabled, acting.source, reason)
    return Published(access=(change,)) if change is not None else NOTHING


async def pseudonymise(
    db: Database, acting: Acting, username: str, reason: str = ""
) -> tuple[str, Published]:
    """Anonymise an account (AVG art. 17); its new username, and its sessions to end."""
    acting.check_admin()
    new = await archive.pseudonymise(db, username, acting.source, reason=reason)
    async with db.read() as session:
        user = await user_by_name(session, new, include_disabled=True)
    assert user is not None  # renamed a moment ago
    return new, Published(sessions_ended=(user.id,))
