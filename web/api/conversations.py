"""Topics, edit history, polls and direct conversations (docs/conversations.md)."""

from __future__ import annotations

from datetime import time

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from chat.frames import RoomAdded
from persistence import events
from persistence.archive import revision_rows
from persistence.models import utcnow
from persistence.polls import ballot_secret, my_choices, room_polls
from persistence.topics import room_topics
from rooms import moderation as rules
from rooms.dutchtime import parse_dutch
from rooms.errors import NotFound
from rooms.polls import ballot_key
from web.actions import conversations as acts
from web.actions import polls
from web.api.common import acting, path_id, sent
from web.deps import caller, readable_room, services
from web.openapi import api
from web.responses import JSON, body_as
from web.wire import rooms as wire
from web.wire.archive import versions


async def list_topics(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    room = await readable_room(request, who)
    async with svc.db.read() as session:
        topics = await room_topics(session, room.id)
    return JSON(
        {"topics": [{"name": t.name, "count": t.count, "last_seq": t.last_seq} for t in topics]}
    )


async def rename_topic(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    given = await body_as(request, wire.TopicRename)
    reason = rules.check_reason(given.reason)
    slug = request.path_params["slug"]
    done, published = await acts.rename(
        svc.db, acting(request, who), slug, given.old, given.new, reason
    )
    body = {"old": done.old, "new": done.new, "messages": done.messages, "seq": done.seq}
    return await sent(request, published, JSON(body))


async def open_direct(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    given = await body_as(request, wire.DirectRequest)
    direct = await acts.open_direct(svc.db, who.actor, given.usernames)
    if direct.new:
        # Committed: the members' open clients learn of the room without waiting for a refresh.
        added = RoomAdded(room=direct.slug, kind="direct")
        for user_id in direct.member_ids:
            svc.realtime.notify_user(user_id, added)
    return JSON({"room": {"slug": direct.slug, "kind": "direct", "members": direct.members}})


async def edit_history(request: Request) -> Response:
    """A message's earlier versions, for readers of its room; never a hidden message's."""
    svc = services(request)
    who = await caller(request)
    room = await readable_room(request, who)
    message_id = path_id(request, "message_id")
    async with svc.db.read() as session:
        message = await events.get_message(session, room.id, message_id)
        if message is None or message.hidden:
            raise NotFound(f"no message {message_id} in room {room.slug}")
        earlier = (await revision_rows(session, [message.id])).get(message.id, [])
    body = {
        "message_id": message.id,
        "body": message.body,
        "edited_at": events.iso(message.edited_at),
        "versions": versions(earlier),
    }
    return JSON(body)


async def create_poll(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    given = await body_as(request, wire.PollIn)
    closes = (
        parse_dutch(given.closes_at, "closes_at", default_time=time(23, 59))
        if given.closes_at
        else None
    )
    new = polls.NewPoll(given.question, given.options, given.multiple, given.anonymous, closes)
    found, published = await polls.create(svc.db, who.actor, request.path_params["slug"], new)
    return await sent(request, published, JSON({"poll": found}, status_code=201))


async def vote(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    given = await body_as(request, wire.VoteIn)
    slug, poll_id = request.path_params["slug"], path_id(request, "poll_id")
    found, mine, published = await polls.vote(svc.db, who.actor, slug, poll_id, given.choices)
    return await sent(request, published, JSON({"poll": {**found, "mine": mine}}))


async def list_polls(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    room = await readable_room(request, who)
    secret = await ballot_secret(svc.db)
    async with svc.db.read() as session:
        found = await room_polls(session, room.id, utcnow())
        for p in found:
            voter = ballot_key(secret, p["poll_id"], who.user.id, p["anonymous"])
            p["mine"] = await my_choices(session, p["poll_id"], voter)
    return JSON({"polls": found})


def routes() -> list[BaseRoute]:
    # fmt: off
    return [
        api("/api/rooms/{slug}/topics", "GET", list_topics,
            "the room's topics, the newest first", "rooms", out=wire.TopicList, errors=(403, 404)),
        api("/api/rooms/{slug}/topics/rename", "POST", rename_topic,
            "rename or merge a topic (subscribers get `topic_renamed`)", "moderation",
            out=wire.TopicRenamed, body=wire.TopicRename, errors=(400, 403, 404)),
        api("/api/rooms/{slug}/messages/{message_id:int}/history", "GET", edit_history,
            "a message's earlier versions, oldest first", "rooms", out=wire.EditHistory,
            errors=(403, 404)),
        api("/api/rooms/{slug}/polls", "GET", list_polls, "the room's polls and results",
            "rooms", out=wire.PollList, errors=(403, 404)),
        api("/api/rooms/{slug}/polls", "POST", create_poll,
            "open a poll (subscribers get `poll_created`)", "rooms", status=201,
            out=wire.PollAnswer, body=wire.PollIn, errors=(400, 403, 404)),
        api("/api/rooms/{slug}/polls/{poll_id:int}/vote", "POST", vote,
            "vote, change or withdraw a vote (subscribers get `poll_votes`)", "rooms",
            out=wire.PollAnswer, body=wire.VoteIn, errors=(400, 403, 404, 409)),
        api("/api/direct", "POST", open_direct,
            "the direct conversation of the caller and 1 to 9 others (made on first use)",
            "rooms", out=wire.DirectAnswer, body=wire.DirectRequest, errors=(400, 404)),
    ]
    # fmt: on
