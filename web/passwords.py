"""Password hashing with argon2id, off the event loop (hashing costs tens of milliseconds)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

if TYPE_CHECKING:
    from web.settings import Settings


class _Hasher:
    """The process's argon2id hasher, made from the settings at first use."""

    hasher: PasswordHasher | None = None
    dummy_hash = ""

    @classmethod
    def get(cls) -> PasswordHasher:
        if cls.hasher is None:
            from web.settings import load_settings

            configure_passwords(load_settings())
        assert cls.hasher is not None
        return cls.hasher


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
    # Verified against when the user does not exist, so that unknown users cost the same time.
    _Hasher.dummy_hash = hasher.hash("werkplaats-dummy-password")


def hash_password(password: str) -> str:
    return _Hasher.get().hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    try:
        hasher = _Hasher.get()
        return hasher.verify(stored or _Hasher.dummy_hash, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _Hasher.get().check_needs_rehash(stored)


async def verify_password_async(stored: str | None, password: str) -> bool:
    return await asyncio.to_thread(verify_password, stored, password)


async def hash_password_async(password: str) -> str:
    return await asyncio.to_thread(hash_password, password)
