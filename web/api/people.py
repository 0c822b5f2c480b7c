"""GET /api/people: the person picker's search, for signed-in people, rate limited per user.

Each answer holds at most `rooms.people.MAX_PEOPLE` people the asker shares a room with;
together with the per-user bucket this keeps the directory from being listed wholesale.
"""

from __future__ import annotations

from collections import OrderedDict

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from chat.limits import TokenBucket
from rooms.errors import BadRequest, RateLimited
from web.actions.people import find_people
from web.deps import caller, services
from web.openapi import api
from web.responses import JSON, query_as
from web.wire import author
from web.wire import people as wire

# A picker asks once per typed character (debounced): bursts of a name, then quiet.
BURST, RATE = 30, 2.0
# Buckets kept per process; the least recently used go first.
MAX_BUCKETS = 10_000


class PerUser:
    """A token bucket per user, in this process."""

    def __init__(self) -> None:
        self.buckets: OrderedDict[int, TokenBucket] = OrderedDict()

    def take(self, user_id: int) -> None:
        bucket = self.buckets.pop(user_id, None) or TokenBucket(BURST, RATE)
        self.buckets[user_id] = bucket
        while len(self.buckets) > MAX_BUCKETS:
            self.buckets.popitem(last=False)
        wait = bucket.take()
        if wait:
            raise RateLimited("too many look-ups; slow down", retry_after=wait)


def routes() -> list[BaseRoute]:
    limiter = PerUser()

    async def search_people(request: Request) -> Response:
        who = await caller(request)
        limiter.take(who.user.id)
        asked = query_as(request, wire.PeopleQuery)
        if not asked.q.strip():
            raise BadRequest("query parameter 'q' is blank: give part of a name")
        found = await find_people(
            services(request).db, who.actor, asked.q.strip(), asked.room, asked.limit
        )
        return JSON({"people": [author(u) for u in found]})

    return [
        api("/api/people", "GET", search_people,
            "people the caller shares a room with, by name (the person picker)", "people",
            out=wire.People, query=wire.PeopleQuery, errors=(400, 403, 404, 429)),
    ]  # fmt: skip
