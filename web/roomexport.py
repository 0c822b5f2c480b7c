"""The room export (`werkplaats export-room`) as its document: one JSON document
(`{"room": {...}, "events": [frames]}`) or a Markdown transcript, written event by event so
that big rooms never sit in memory. Storage reads and audits (`persistence.archive`)."""

from __future__ import annotations

from datetime import datetime
from typing import IO, Any

import orjson

from persistence.archive import ExportFormat, RoomExport, RoomHeader, progress
from rooms.dutchtime import format_dutch, parse_wire
from rooms.text import clean
from web.wire.archive import room_event_wire


def json_line(value: Any) -> str:
    return orjson.dumps(value).decode()


async def write_room(found: RoomExport, out: IO[str], fmt: ExportFormat) -> int:
    """Write an audited room export to `out`; returns the number of events written."""
    header = found.header
    writer = _JsonWriter(out, header) if fmt == "json" else _MarkdownWriter(out, header)
    count = 0
    with progress(header.last_seq, f"export {header.slug}") as bar:
        async for item in found.events:
            writer.event(room_event_wire(header.slug, item, header.include_hidden), item.at)
            count += 1
            bar.update(1)
    writer.close()
    return count


class _JsonWriter:
    """One JSON document, written event by event so that big rooms never sit in memory."""

    def __init__(self, out: IO[str], header: RoomHeader) -> None:
        self.out = out
        self.first = True
        out.write(json_line({"room": header})[:-1] + ',"events":[\n')

    def event(self, frame: dict[str, Any], at: datetime) -> None:
        self.out.write(("" if self.first else ",\n") + json_line(frame))
        self.first = False

    def close(self) -> None:
        self.out.write("\n]}\n")


class _Escaped:
    """Writes to `out` with every `<` escaped (`\\<`): a transcript put through a Markdown
    renderer that passes raw HTML (CommonMark's default) shows what people typed (bodies,
    names, topics, reasons), never an element. Inside code a backslash shows; the JSON
    export keeps the text exactly."""

    def __init__(self, out: IO[str]) -> None:
        self.raw = out

    def write(self, text: str) -> int:
        return self.raw.write(text.replace("<", "\\<"))


class _MarkdownWriter:
    """A readable transcript for a Woo request or a report: one section per message."""

    def __init__(self, raw: IO[str], header: RoomHeader) -> None:
        self.out = out = _Escaped(raw)
        lines = [
            f"# {header.name} (`{header.slug}`)",
            "",
            f"- Soort: {header.kind}",
            f"- Onderwerp: {header.topic or '—'}",
            f"- Geëxporteerd: {_when(header.exported_at)}",
            f"- Laatste volgnummer: {header.last_seq}",
            "- Verborgen berichten: "
            + ("opgenomen" if header.include_hidden else "niet opgenomen (alleen vermeld)"),
            "",
        ]
        out.write("\n".join(lines) + "\n")

    def event(self, f: dict[str, Any], at: datetime) -> None:
        when = format_dutch(at)
        if f["type"] != "message":
            self.out.write(f"_#{f['seq']} · {when} · {describe_event(f)}_\n\n")
            return
        author = f.get("author") or {}
        who = author.get("display_name", "?")
        if author.get("organisation"):
            who += f" ({author['organisation']})"
        self.out.write(f"### #{f['seq']} · {clean(who)} · {_when(f['created_at'])}\n\n")
        if f.get("reply_to"):
            self.out.write(f"_Antwoord op bericht {f['reply_to']}_\n\n")
        if f.get("topic"):
            self.out.write(f"_Onderwerp: {clean(f['topic'])}_\n\n")
        if f.get("purged_at"):
            self.out.write(
                f"_Tekst verwijderd volgens de bewaartermijn ({_when(f['purged_at'])})._\n\n"
            )
        elif f.get("hidden") and f.get("body") is None:
            self.out.write("_Bericht verborgen; de tekst is niet opgenomen._\n\n")
        else:
            self.out.write(quote(clean(f.get("body") or "")) + "\n\n")
            if f.get("hidden"):
                self.out.write(
                    f"_Verborgen op {_when(f.get('hidden_at'))} door {f.get('hidden_by') or 'de auteur'}"
                    f": {f.get('hidden_reason') or ''}_\n\n"
                )
            if f.get("edited_at"):
                self.out.write(f"_Bewerkt op {_when(f['edited_at'])}._\n\n")
        if f.get("reactions"):
            self.out.write(f"_Reacties: {reaction_words(f['reactions'])}_\n\n")

    def close(self) -> None:
        self.out.write("")


def _when(value: str | None) -> str:
    """A wire timestamp as people read it in the transcript: Dutch time, in Dutch."""
    return "—" if not value else format_dutch(parse_wire(value))


def quote(body: str) -> str:
    """A body as a Markdown block quote, so that its own markup cannot break the transcript."""
    return "\n".join("> " + line if line else ">" for line in body.splitlines() or [""])


EVENT_WORDS = {
    "message_edited": "bericht {message_id} bewerkt",
    "message_hidden": "bericht {message_id} verborgen door {by}: {reason}",
    "message_pinned": "bericht {message_id} vastgezet door {by}",
    "message_unpinned": "bericht {message_id} losgemaakt door {by}",
    "restored": "database teruggezet uit een back-up; volgnummers na {after} overgeslagen",
}


def reaction_words(reactions: dict[str, list[str]]) -> str:
    """`👍 ann, bram; 🎉 amy`, or `geen` for an empty set."""
    return "; ".join(f"{e} {', '.join(who)}" for e, who in reactions.items()) or "geen"


def describe_event(frame: dict[str, Any]) -> str:
    if frame["type"] == "reactions":
        words = reaction_words(frame.get("reactions") or {})
        return f"reacties op bericht {frame.get('message_id')} door {frame.get('by')}: {words}"
    if frame["type"] == "topic_renamed":
        return f"onderwerp {frame.get('old')!r} hernoemd naar {frame.get('new')!r} door {frame.get('by')}"
    template = EVENT_WORDS.get(frame["type"])
    if template is not None:
        return template.format_map(_Defaulting(frame))
    if frame["type"] == "room_updated":
        changes = ", ".join(
            f"{k} = {v!r}" for k, v in frame.items() if k not in ("type", "room", "seq", "by")
        )
        return f"kamer aangepast door {frame.get('by')}: {changes}"
    return str(frame["type"])


class _Defaulting(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"
