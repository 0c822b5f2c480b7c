"""Password hashing with argon2id, off the event loop (hashing costs tens of milliseconds)."""

from __future__ import annotations

import asyncio
import functools
import gzip
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from argon2 import PasswordHasher, extract_parameters
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from persistence.community import PasswordPlan
from rooms.errors import WeakPassword

if TYPE_CHECKING:
    from rooms.community import UserEntry
    from web.settings import Settings


DUMMY_PASSWORD = "werkplaats-dummy-password"
# A new password is at least this long (the contract's minimum) and not a common one.
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
# The 20,000 most common passwords, lower-cased (source and licence: web/data/README.md).
COMMON_PASSWORDS = Path(__file__).parent / "data" / "common-passwords.txt.gz"
# Parameter sets for which a dummy hash is kept (each costs one hash to make, once).
DUMMY_PARAMETER_SETS = 8


class _Hasher:
    """The process's argon2id hasher, made from the settings at first use."""

    hasher: PasswordHasher | None = None
    # Verified against when the user does not exist, so that unknown users cost the same time.
    # It takes the parameters of the last stored hash verified: while hashes made under old
    # settings wait for their upgrade, an unknown user costs what the known ones cost now.
    dummy_hash = ""
    dummies: ClassVar[dict[str, str]] = {}

    @classmethod
    def get(cls) -> PasswordHasher:
        if cls.hasher is None:
            from web.settings import load_settings

            configure_passwords(load_settings())
        assert cls.hasher is not None
        return cls.hasher

    @classmethod
    def follow(cls, stored: str) -> None:
        """Make the dummy hash cost what verifying `stored` costs."""
        params = stored.rsplit("$", 2)[0]  # "$argon2id$v=19$m=65536,t=3,p=4"
        dummy = cls.dummies.get(params)
        if dummy is None:
            if len(cls.dummies) >= DUMMY_PARAMETER_SETS:
                return
            like = PasswordHasher.from_parameters(extract_parameters(stored))
            dummy = cls.dummies[params] = like.hash(DUMMY_PASSWORD)
        cls.dummy_hash = dummy


def configure_passwords(settings: Settings) -> None:
    """Use the settings' argon2id cost (argon2-cffi's RFC 9106 low-memory profile by default).

    Hashes made with other parameters are upgraded at the next login.
    """
    current = _Hasher.hasher
    if (
        current is not None
        and current.time_cost == settings.argon2_time_cost
        and current.memory_cost == settings.argon2_memory_kib
    ):
        return
    hasher = PasswordHasher(
        time_cost=settings.argon2_time_cost, memory_cost=settings.argon2_memory_kib
    )
    _Hasher.hasher = hasher
    _Hasher.dummies = {}
    _Hasher.follow(hasher.hash(DUMMY_PASSWORD))


def hash_password(password: str) -> str:
    return _Hasher.get().hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Whether `password` matches `stored`; always one argon2 verification, also without a hash."""
    hasher = _Hasher.get()
    try:
        ok = hasher.verify(stored or _Hasher.dummy_hash, password) and bool(stored)
    except VerifyMismatchError:
        ok = False
    except (VerificationError, InvalidHashError):
        # A malformed stored hash fails at once: spend the usual time, as for anyone else.
        try:
            hasher.verify(_Hasher.dummy_hash, password)
        except VerificationError:
            pass
        return False
    if stored:
        _Hasher.follow(stored)
    return ok


def needs_rehash(stored: str) -> bool:
    return _Hasher.get().check_needs_rehash(stored)


@dataclass(frozen=True, slots=True)
class PasswordCheck:
    """The outcome of a login's password check: right or not, and a fresh hash if due."""

    ok: bool
    new_hash: str | None = None


def check_password(stored: str | None, password: str) -> PasswordCheck:
    """Verify against the stored hash, or the dummy one: the same work for unknown users.

    A right password under outdated parameters is hashed again here, in the same thread
    call, so the caller writes the new hash without hashing inside its transaction.
    """
    if not verify_password(stored, password):
        return PasswordCheck(False)
    assert stored is not None
    return PasswordCheck(True, hash_password(password) if needs_rehash(stored) else None)


async def check_password_async(stored: str | None, password: str) -> PasswordCheck:
    """`check_password` in a worker thread (callers bound how many run at once)."""
    return await asyncio.to_thread(check_password, stored, password)


async def plan_passwords(
    users: Iterable[UserEntry], stored: Mapping[str, str | None]
) -> dict[str, PasswordPlan]:
    """For a load: each user's new hash, or None where the stored one already matches.

    Run before the load's write transaction opens, one user at a time in a worker thread.
    """

    def plan(password: str | None, seen: str | None) -> PasswordPlan:
        # No password in the file keeps the stored one (or none, until an invitation).
        if password is None or (seen is not None and verify_password(seen, password)):
            return PasswordPlan(seen, None)
        return PasswordPlan(seen, hash_password(password))

    return {
        u.username: await asyncio.to_thread(plan, u.password, stored.get(u.username)) for u in users
    }


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list, read once per process."""
    with gzip.open(COMMON_PASSWORDS, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip() for line in lines if line.strip())


def check_new_password(password: str, username: str = "") -> None:
    """Refuse (`weak_password`) a password too short, too long, common, or the username."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise WeakPassword(f"a password has at most {MAX_PASSWORD_LENGTH} characters")
    lowered = password.lower()
    # Short usernames ("an") occur in good passwords by chance.
    named = len(username) >= 4 and username.lower() in lowered
    if named or lowered in common_passwords():
        raise WeakPassword("this password is too common or contains the username; choose another")


async def hash_new_password(password: str, username: str = "") -> str:
    """Check a new password, then hash it in a worker thread."""
    check_new_password(password, username)
    return await asyncio.to_thread(hash_password, password)
