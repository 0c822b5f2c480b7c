"""Account acts: disabling, enabling and pseudonymising a member's account."""

from __future__ import annotations

from persistence import access_changes, archive
from persistence.access_changes import AccessChange
from persistence.accounts import revoke_user_sessions, user_by_name
from persistence.db import Database
from persistence.models import utcnow
from persistence.moderation import record
from rooms.errors import Conflict, NotFound
from web.actions.common import Acting
from web.actions.publish import Published


async def set_account_disabled(
    db: Database, acting: Acting, username: str, disabled: bool, reason: str = ""
) -> Published:
    """Disable an account (no login; its sessions end and its sockets close) or enable it."""
    acting.check_admin()
    async with db.write() as session:
        user = await user_by_name(session, username, include_disabled=True)
        if user is None:
            raise NotFound(f"no user {username!r}")
        if disabled == (user.disabled_at is not None):
            raise Conflict(f"{user.username} is already {'disabled' if disabled else 'enabled'}")
        user.disabled_at = utcnow() if disabled else None
        changes = (AccessChange(user.id, reason=access_changes.DISABLED),) if disabled else ()
        if disabled:
            await revoke_user_sessions(session, user.id)
            await access_changes.record(session, changes)
        action = "disable_user" if disabled else "enable_user"
        await record(session, acting.source, action, target=user.username, reason=reason)
    return Published(access=changes)


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
