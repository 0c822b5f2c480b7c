"""Account acts: invitations, passwords, an admin's changes to a user, disabling, pseudonymising.

Passwords are checked and hashed before a write transaction opens (argon2id costs tens of
milliseconds and 64 MiB); one-time tokens (invitations, reset links) are taken with a
conditional update inside it, so a link used twice at once works once. Every act is written
to the audit log in its own transaction. What open connections must hear (a disabled
account, sessions that ended, a team left) is returned as `Published` and recorded in the
access log, which every serving process follows (chat/access_watch.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from persistence import access_changes, accounts, archive
from persistence.access_changes import AccessChange
from persistence.accounts import revoke_user_sessions, user_by_name
from persistence.db import Database
from persistence.models import Invitation, User, utcnow
from persistence.moderation import Source, record
from rooms.errors import BadRequest, Conflict, Forbidden, Gone, NotFound
from rooms.model import USERNAME_RE
from rooms.text import clean
from web.actions.common import Acting
from web.actions.publish import Published
from web.auth import new_token, token_hash
from web.passwords import check_new_password, check_password_async, hash_new_password

# The contract: an invitation link works once, for 14 days.
INVITATION_DAYS = 14
# A password-reset link works once, for an hour.
RESET_MINUTES = 60
# Reset links sent per account per hour, whoever asks: more are not sent (the answer is
# the same), so nobody can fill a member's mailbox.
RESETS_PER_HOUR = 3
RESET = "reset"


def normalise_email(email: str) -> str:
    return email.strip().lower()


@dataclass(frozen=True, slots=True)
class Invited:
    """A new invitation: the token goes into the link and nowhere else."""

    id: int
    token: str
    email: str
    display_name: str
    expires_at: datetime


async def _area_rooms(session: AsyncSession, slugs: list[str]) -> list[Any]:
    found = await accounts.area_rooms(session, slugs)
    unknown = sorted(set(slugs) - found.keys())
    if unknown:
        raise BadRequest(f"no area {unknown[0]!r}")
    return [found[slug] for slug in dict.fromkeys(slugs)]


async def invite(
    db: Database,
    acting: Acting,
    secret_key: str,
    *,
    email: str,
    organisation: str = "",
    layer: str = "overig",
    areas: list[str] | None = None,
    role: str = "member",
    display_name: str = "",
    user_id: int | None = None,
) -> Invited:
    """Invite an address (admins); `user_id` invites an existing account without a password."""
    acting.check_admin()
    email = normalise_email(email)
    token = new_token()
    expires_at = utcnow() + timedelta(days=INVITATION_DAYS)
    async with db.write() as session:
        await _area_rooms(session, areas or [])
        if user_id is None and await accounts.users_with_email(session, email):
            raise Conflict("an account with this e-mail address exists")
        row = Invitation(
            token_hash=token_hash(token, secret_key),
            email=email,
            organisation=clean(organisation).strip(),
            layer=layer,
            areas=list(areas or []),
            role=role,
            display_name=clean(display_name).strip(),
            user_id=user_id,
            invited_by=acting.source.actor[:64],
            created_at=utcnow(),
            expires_at=expires_at,
        )
        session.add(row)
        await session.flush()
        await record(
            session,
            acting.source,
            "invite",
            target=email,
            details={"invitation": row.id, "role": role, "areas": list(areas or [])},
        )
    return Invited(row.id, token, email, row.display_name, expires_at)


async def invite_passwordless(
    db: Database, acting: Acting, secret_key: str, users: list[tuple[int, str]]
) -> list[Invited]:
    """Invite the loaded accounts that have no password and no open invitation yet."""
    invited: list[Invited] = []
    for user_id, email in users:
        async with db.read() as session:
            user = await session.get(User, user_id)
            if user is None or await accounts.has_open_invitation(session, user_id):
                continue
        invited.append(
            await invite(
                db,
                acting,
                secret_key,
                email=email,
                organisation=user.organisation,
                layer=user.layer,
                role=user.role,
                display_name=user.display_name,
                user_id=user_id,
            )
        )
    return invited


async def invitation(db: Database, secret_key: str, token: str) -> tuple[Invitation, str | None]:
    """The open invitation of this link, and the username it is for (if any); else `gone`."""
    async with db.read() as session:
        found = await accounts.open_invitation(session, token_hash(token, secret_key))
        if found is None:
            raise Gone("this invitation was used or has expired")
        user = await session.get(User, found.user_id) if found.user_id is not None else None
        return found, user.username if user is not None else None


async def accept(
    db: Database,
    secret_key: str,
    token: str,
    *,
    username: str,
    password: str,
    display_name: str,
    address: str,
    session_hash: str,
    session_expires: datetime,
) -> User:
    """Accept an invitation: a new account (or the invited one's password), and a session."""
    username = username.strip().lower()
    if not USERNAME_RE.fullmatch(username):
        raise BadRequest("field 'username': 2 to 32 of a-z, 0-9, '.', '_' and '-'")
    found, for_user = await invitation(db, secret_key, token)
    if for_user is not None and for_user != username:
        raise Conflict(f"this invitation is for the account {for_user!r}")
    new_hash = await hash_new_password(password, username)
    name = clean(display_name).strip() or found.display_name or username
    try:
        async with db.write() as session:
            taken = await accounts.take_invitation(session, token_hash(token, secret_key))
            if taken is None:
                raise Gone("this invitation was used or has expired")
            user = await _invited_account(session, taken, username, name, new_hash)
            taken.used_by_id = user.id
            await accounts.create_session(session, user.id, session_hash, session_expires)
            await record(
                session,
                Source(username, address),
                "accept_invitation",
                target=username,
                details={"invitation": taken.id},
            )
    except IntegrityError:
        # Another accept took the username between our check and our insert.
        raise Conflict(f"the username {username!r} is taken") from None
    return user


async def _invited_account(
    session: AsyncSession, taken: Invitation, username: str, name: str, new_hash: str | None
) -> User:
    """The account an invitation makes (or completes): `new_hash` None signs on without one."""
    if taken.user_id is not None:
        user = await session.get(User, taken.user_id)
        if user is None or user.disabled_at is not None:
            raise Gone("the invited account no longer exists or is disabled")
        user.password_hash = new_hash or user.password_hash
        user.display_name = name
        user.email = user.email or taken.email
        return user
    if await user_by_name(session, username, include_disabled=True) is not None:
        raise Conflict(f"the username {username!r} is taken")
    user = User(
        username=username,
        display_name=name,
        organisation=taken.organisation,
        layer=taken.layer,
        role=taken.role,
        email=taken.email,
        password_hash=new_hash,
        created_at=utcnow(),
    )
    session.add(user)
    await session.flush()
    await accounts.set_areas(session, user.id, await _area_rooms(session, list(taken.areas)))
    return user


async def change_password(
    db: Database, acting: Acting, user_id: int, current: str, new: str, keep_session: str
) -> Published:
    """Change one's own password; every other session of the account ends."""
    async with db.read() as session:
        user = await session.get(User, user_id)
    assert user is not None  # signed in a moment ago
    outcome = await check_password_async(user.password_hash, current)
    if not outcome.ok or user.password_hash is None:
        raise Forbidden("the current password is not right")
    if current == new:
        check_new_password(new, user.username)
        raise Conflict("the new password is the current one")
    new_hash = await hash_new_password(new, user.username)
    changes = (AccessChange(user_id, reason=access_changes.SESSION_ENDED),)
    async with db.write() as session:
        await accounts.set_password_hash(session, user_id, new_hash)
        await revoke_user_sessions(session, user_id, keep=keep_session)
        await record(session, acting.source, "change_password", target=user.username)
        await access_changes.record(session, changes)
    return Published(access=changes)


def _username_from(email: str) -> str:
    """A username proposed from an address's local part: `a.de.vries` for A.de.Vries@…."""
    local = re.sub(r"[^a-z0-9._-]+", "-", email.split("@", 1)[0].lower()).strip("-._")
    return (local or "lid")[:28].ljust(2, "0")


async def _free_username(session: AsyncSession, wanted: str) -> str:
    for n in range(1, 1000):
        candidate = wanted if n == 1 else f"{wanted}{n}"
        if await user_by_name(session, candidate, include_disabled=True) is None:
            return candidate
    raise Conflict("no free username for this address")


async def sign_on(
    db: Database,
    provider: str,
    email: str,
    name: str,
    signup_domains: tuple[str, ...],
    *,
    address: str,
    session_hash: str,
    session_expires: datetime,
) -> User:
    """Single sign-on with a provider's verified `email`: the one account with it, else an
    open invitation to it, else (a domain the provider may sign up) a new member; and a session.
    """
    email = normalise_email(email)
    async with db.write() as session:
        found = await accounts.users_with_email(session, email, include_disabled=True)
        if len(found) > 1:
            raise Forbidden("more than one account has this e-mail address; ask an admin")
        if found and found[0].disabled_at is not None:
            raise Forbidden("this account is disabled")
        how = "account"
        user = found[0] if found else None
        if user is None:
            user, how = await _signed_up(session, email, name, signup_domains)
        await accounts.create_session(session, user.id, session_hash, session_expires)
        await record(
            session,
            Source(user.username, address),
            "sign_on",
            target=user.username,
            details={"provider": provider, "by": how},
        )
    return user


async def _signed_up(
    session: AsyncSession, email: str, name: str, signup_domains: tuple[str, ...]
) -> tuple[User, str]:
    """A new account for a verified address: through its open invitation, or its domain."""
    invited = await accounts.latest_open_invitation(session, email)
    if invited is not None:
        taken = await accounts.take_invitation(session, invited.token_hash)
        assert taken is not None  # open a moment ago, in this transaction
        username = await _free_username(session, _username_from(email))
        user = await _invited_account(session, taken, username, taken.display_name or name, None)
        taken.used_by_id = user.id
        return user, f"invitation {taken.id}"
    if email.rsplit("@", 1)[1] not in {d.lower() for d in signup_domains}:
        raise Forbidden("no account or invitation has this e-mail address")
    user = User(
        username=await _free_username(session, _username_from(email)),
        display_name=clean(name).strip()[:200] or email,
        email=email,
        password_hash=None,
        created_at=utcnow(),
    )
    session.add(user)
    await session.flush()
    return user, "domain"


@dataclass(frozen=True, slots=True)
class ResetLink:
    """A reset link to mail: the address, the account's name, and the token."""

    email: str
    display_name: str
    token: str


async def request_reset(
    db: Database, source: Source, secret_key: str, email: str
) -> ResetLink | None:
    """A reset link for the one enabled account with this address, if any and not too many
    were sent lately; None otherwise. The caller answers the same either way."""
    email = normalise_email(email)
    token = new_token()
    async with db.write() as session:
        found = await accounts.users_with_email(session, email)
        if len(found) != 1:
            return None
        user = found[0]
        recent = await accounts.count_recent_tokens(
            session, RESET, user.id, utcnow() - timedelta(hours=1)
        )
        if recent >= RESETS_PER_HOUR:
            return None
        await accounts.add_token(
            session,
            RESET,
            token_hash(token, secret_key),
            utcnow() + timedelta(minutes=RESET_MINUTES),
            user_id=user.id,
        )
        await record(session, source, "request_password_reset", target=user.username)
    return ResetLink(email, user.display_name, token)


async def reset_password(
    db: Database, source: Source, secret_key: str, token: str, new: str
) -> Published:
    """Set a new password with a reset link (once); every session of the account ends."""
    digest = token_hash(token, secret_key)
    async with db.read() as session:
        pending = await accounts.open_token(session, RESET, digest)
        user = await session.get(User, pending.user_id) if pending and pending.user_id else None
    if user is None:
        raise Gone("this link was used or has expired")
    new_hash = await hash_new_password(new, user.username)
    changes = (AccessChange(user.id, reason=access_changes.SESSION_ENDED),)
    async with db.write() as session:
        if await accounts.take_token(session, RESET, digest) is None:
            raise Gone("this link was used or has expired")
        await accounts.set_password_hash(session, user.id, new_hash)
        await revoke_user_sessions(session, user.id)
        await record(session, source, "reset_password", target=user.username)
        await access_changes.record(session, changes)
    return Published(access=changes)


@dataclass(frozen=True, slots=True)
class UserChanges:
    """An admin's change to an account; None leaves a field as it is."""

    disabled: bool | None = None
    role: str | None = None
    areas: list[str] | None = None
    display_name: str | None = None
    organisation: str | None = None
    layer: str | None = None
    email: str | None = None
    clear_email: bool = False
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Rooms:
    """A user's area teams and the rooms they moderate, by slug."""

    areas: list[str]
    moderates: list[str]


async def rooms_of(session: AsyncSession, users: list[User]) -> dict[int, Rooms]:
    ids = [u.id for u in users]
    areas = await accounts.areas_of(session, ids)
    moderates = await accounts.moderates_of(session, ids)
    return {i: Rooms(areas.get(i, []), moderates.get(i, [])) for i in ids}


async def update_user(
    db: Database, acting: Acting, username: str, change: UserChanges
) -> tuple[User, Rooms, Published]:
    """Change an account (admins): the user, their area teams, and what to publish."""
    acting.check_admin()
    changes: list[AccessChange] = []
    async with db.write() as session:
        user = await user_by_name(session, username, include_disabled=True)
        if user is None or not USERNAME_RE.fullmatch(username):
            raise NotFound(f"no user {username!r}")
        done: dict[str, Any] = {}
        if change.role is not None and change.role != user.role:
            if acting.actor is not None and acting.actor.user_id == user.id:
                raise Conflict("an admin cannot change their own role")
            done["role"] = [user.role, change.role]
            user.role = change.role
            changes.append(AccessChange(user.id, reason=access_changes.ROLE_CHANGED))
        if change.areas is not None:
            teams = await _area_rooms(session, change.areas)
            left = await accounts.set_areas(session, user.id, teams)
            done["areas"] = sorted(room.slug for room in teams)
            changes += [
                AccessChange(user.id, slug, access_changes.MEMBERSHIP_ENDED) for slug in left
            ]
        for field in ("display_name", "organisation", "layer"):
            value = getattr(change, field)
            if value is not None and value != getattr(user, field):
                done[field] = clean(value).strip()
                setattr(user, field, done[field])
        if change.email is not None or change.clear_email:
            user.email = normalise_email(change.email) if change.email else None
            done["email"] = user.email
        if done:
            await record(
                session,
                acting.source,
                "update_user",
                target=user.username,
                reason=change.reason,
                details=done,
            )
        if change.disabled is not None and change.disabled != (user.disabled_at is not None):
            changes += await _set_disabled(session, acting, user, change.disabled, change.reason)
        await access_changes.record(session, changes)
        rooms = (await rooms_of(session, [user]))[user.id]
    return user, rooms, Published(access=tuple(changes))


async def update_profile(
    db: Database, acting: Acting, user_id: int, fields: dict[str, str]
) -> User:
    """A member changes their own name, organisation or layer; audited."""
    async with db.write() as session:
        user = await session.get(User, user_id)
        assert user is not None  # signed in a moment ago
        done = {k: clean(v).strip() for k, v in fields.items() if v != getattr(user, k)}
        if done.get("display_name") == "":
            raise BadRequest("field 'display_name' may not be empty")
        for field, value in done.items():
            setattr(user, field, value)
        if done:
            await record(
                session, acting.source, "update_profile", target=user.username, details=done
            )
    return user


async def _set_disabled(
    session: AsyncSession, acting: Acting, user: User, disabled: bool, reason: str
) -> list[AccessChange]:
    """Disable (sessions end, sockets close) or enable; audited. The access changes to record."""
    if disabled == (user.disabled_at is not None):
        raise Conflict(f"{user.username} is already {'disabled' if disabled else 'enabled'}")
    if disabled and acting.actor is not None and acting.actor.user_id == user.id:
        raise Conflict("an admin cannot disable their own account")
    user.disabled_at = utcnow() if disabled else None
    action = "disable_user" if disabled else "enable_user"
    await record(session, acting.source, action, target=user.username, reason=reason)
    if not disabled:
        return []
    await revoke_user_sessions(session, user.id)
    return [AccessChange(user.id, reason=access_changes.DISABLED)]


async def set_account_disabled(
    db: Database, acting: Acting, username: str, disabled: bool, reason: str = ""
) -> Published:
    """Disable an account (no login; its sessions end and its sockets close) or enable it."""
    acting.check_admin()
    async with db.write() as session:
        user = await user_by_name(session, username, include_disabled=True)
        if user is None:
            raise NotFound(f"no user {username!r}")
        changes = await _set_disabled(session, acting, user, disabled, reason)
        await access_changes.record(session, changes)
    return Published(access=tuple(changes))


async def list_users(
    db: Database, acting: Acting, search: str, limit: int
) -> list[tuple[User, Rooms]]:
    """Accounts matching `search` (admins), each with their teams and rooms moderated."""
    acting.check_admin()
    async with db.read() as session:
        users = await accounts.find_users(session, search.strip(), limit)
        rooms = await rooms_of(session, users)
    return [(u, rooms[u.id]) for u in users]


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
