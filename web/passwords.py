"""Password hashing with argon2id, off the event loop (hashing costs tens of milliseconds)."""

from __future__ import annotations

import asyncio
import os

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


def _hasher_from_env() -> PasswordHasher:
    """argon2id with the library's defaults (RFC 9106 low-memory profile) unless overridden.

    WERKPLAATS_ARGON2_TIME_COST / WERKPLAATS_ARGON2_MEMORY_KIB exist for test suites and very
    small machines; hashes made with other parameters are upgraded at the next login.
    """
    default = PasswordHasher()
    time_cost = int(os.environ.get("WERKPLAATS_ARGON2_TIME_COST", default.time_cost))
    memory_kib = int(os.environ.get("WERKPLAATS_ARGON2_MEMORY_KIB", default.memory_cost))
    if time_cost < 1 or memory_kib < 8 * default.parallelism:
        raise ValueError(
            "WERKPLAATS_ARGON2_TIME_COST >= 1 and WERKPLAATS_ARGON2_MEMORY_KIB >= 8*lanes"
        )
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)


_hasher = _hasher_from_env()
# Verified against when the user does not exist, so that unknown users cost the same time.
_DUMMY_HASH = _hasher.hash("werkplaats-dummy-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _hasher.check_needs_rehash(stored)


async def verify_password_async(stored: str | None, password: str) -> bool:
    return await asyncio.to_thread(verify_password, stored, password)


async def hash_password_async(password: str) -> str:
    return await asyncio.to_thread(hash_password, password)
