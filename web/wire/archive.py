"""The exports' JSON values: storage reads the rows (`persistence.archive`), this turns them
into the user export (AVG art. 15, `werkplaats export-user`) and the room export's events
(`werkplaats export-room`, written by `web.roomexport`)."""

from __future__ import annotations

from typing import Any

from chat.frames import event_dict
from persistence.archive import ExportedEvent, UserExport
from persistence.models import Ban, Message, MessageRevision, Mute, iso
from web.wire import author_wire


def versions(revisions: list[MessageRevision]) -> list[dict[str, Any]]:
    """A message's earlier bodies, oldest first: exports and its edit history."""
    return [{"body": r.body, "replaced_at": iso(r.replaced_at)} for r in revisions]


def room_event_wire(slug: str, item: ExportedEvent, include_hidden: bool) -> dict[str, Any]:
    """An exported event: its frame as served, and of a message what only the archive
    shows (when its text was purged; with `include_hidden` its hidden text, who hid it,
    when and why, and its earlier bodies)."""
    frame = event_dict(slug, item.event)
    message = item.message
    if item.event.type != "message" or message is None:
        return frame
    if message.purged_at is not None:
        frame["purged_at"] = iso(message.purged_at)
    if include_hidden and message.hidden:
        frame["body"] = message.body
        frame["hidden_at"] = iso(message.hidden_at)
        frame["hidden_by"] = item.hidden_by
        frame["hidden_reason"] = message.hidden_reason
    if include_hidden and item.revisions:
        frame["revisions"] = versions(item.revisions)
    return frame


def user_export_wire(found: UserExport) -> dict[str, Any]:
    """The export's keys in the order the document has always had them."""
    user, slugs = found.user, found.slugs
    return {
        "exported_at": iso(found.exported_at),
        "user": {
            **author_wire(user),
            "role": user.role,
            "created_at": iso(user.created_at),
            "pseudonymised": user.pseudonymised,
        },
        "memberships": [
            {"room": slugs[m.room_id], "joined_at": iso(m.joined_at)} for m in found.memberships
        ],
        "moderates": [slugs[m.room_id] for m in found.moderates],
        "sessions": [
            {
                "created_at": iso(s.created_at),
                "expires_at": iso(s.expires_at),
                "revoked_at": iso(s.revoked_at),
            }
            for s in found.sessions
        ],
        "preferences": [
            {"digest": p.digest, "email": p.email, "updated_at": iso(p.updated_at)}
            for p in found.preferences
        ],
        "digests_sent": [
            {"meeting_id": d.meeting_id, "sent_at": iso(d.sent_at)} for d in found.digests_sent
        ],
        "read_markers": [
            {"room": slugs[r.room_id], "seq": r.seq, "updated_at": iso(r.updated_at)}
            for r in found.read_markers
        ],
        "reactions": [
            {
                "room": slugs[r.room_id],
                "message_id": r.message_id,
                "emoji": r.emoji,
                "at": iso(r.at),
            }
            for r in found.reactions
        ],
        "reports_filed": [
            {
                "room": slugs[r.room_id],
                "message_id": r.message_id,
                "reason": r.reason,
                "at": iso(r.at),
                "status": r.status,
            }
            for r in found.reports_filed
        ],
        "bans": [_restriction(b, slugs) for b in found.bans],
        "mutes": [_restriction(m, slugs) for m in found.mutes],
        "files": [
            {
                "id": f.id,
                "room": slugs[f.room_id],
                "message_id": f.message_id,
                "meeting_id": f.meeting_id,
                "name": f.name,
                "type": f.media_type,
                "size": f.size,
                "sha256": f.sha256,
                "uploaded_at": iso(f.created_at),
            }
            for f in found.files
        ],
        "audit": [
            {
                "at": iso(a.at),
                "actor": a.actor,
                "action": a.action,
                "room": a.room,
                "target": a.target,
                "reason": a.reason,
            }
            for a in found.audit
        ],
        "messages": [_message(m, found.revisions.get(m.id, []), slugs) for m in found.messages],
    }


def _restriction(row: Ban | Mute, slugs: dict[int, str]) -> dict[str, Any]:
    return {
        "room": slugs[row.room_id],
        "until": iso(row.until),
        "reason": row.reason,
        "at": iso(row.created_at),
    }


def _message(m: Message, revisions: list[MessageRevision], slugs: dict[int, str]) -> dict[str, Any]:
    return {
        "room": slugs[m.room_id],
        "seq": m.seq,
        "message_id": m.id,
        "body": m.body,
        "created_at": iso(m.created_at),
        "edited_at": iso(m.edited_at),
        "reply_to": m.reply_to,
        "hidden": m.hidden,
        "hidden_reason": m.hidden_reason,
        "purged_at": iso(m.purged_at),
        "revisions": versions(revisions),
    }
