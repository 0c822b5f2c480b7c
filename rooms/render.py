"""Text the Werkplaats sends out: the Markdown agenda and the digest e-mail (text and HTML).

Pure functions over the JSON the API serves, so what a member reads in the e-mail is
what the catch-up page shows. Every value is escaped for HTML; Markdown gets member
text on one line with its markup characters neutralised. Times are Dutch time, and the
finished text goes through `rooms.text.clean`, so a bidi override stored before input
was cleaned cannot reorder what the reader sees.
"""

from __future__ import annotations

import html
import re
from datetime import date, datetime
from typing import Any

from rooms.dutchtime import MONTHS, format_dutch, parse_wire, to_dutch
from rooms.text import clean

KIND_LABEL = {"vraag": "Vraag", "besluit": "Besluit", "actiepunt": "Actiepunt"}
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|])")


def dutch_date(value: str | date | datetime | None) -> str:
    """`2026-12-01` or a wire timestamp → "1 december 2026", the day in the Netherlands."""
    if value is None:
        return "onbekende datum"
    if isinstance(value, str):
        value = parse_wire(value) if len(value) > 10 else date.fromisoformat(value)
    if isinstance(value, datetime):
        value = to_dutch(value).date()
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def dutch_moment(value: str | None) -> str:
    """A wire timestamp → "dinsdag 1 december 2026, 10:00" (Dutch time)."""
    return "onbekende datum" if value is None else format_dutch(parse_wire(value))


def agenda_title(meeting: dict[str, Any]) -> str:
    return f"Open vragen en actiepunten voor de bijeenkomst van {dutch_date(meeting['date'])}"


def md(text: str) -> str:
    """Member text as inert Markdown on one line."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _item_line(item: dict[str, Any]) -> str:
    who = item["author"]["display_name"]
    extra = []
    if item.get("owner"):
        extra.append(f"eigenaar: @{item['owner']}")
    if item.get("due"):
        extra.append(f"uiterlijk {dutch_date(item['due'])}")
    tail = f" ({'; '.join(extra)})" if extra else ""
    return f"- {md(item['excerpt'])} — {md(who)}, #{item['room']}{tail}"


def agenda_markdown(agenda: dict[str, Any]) -> str:
    """The draft agenda as Markdown for the meeting's chair."""
    return clean(_agenda_markdown(agenda))


def _agenda_markdown(agenda: dict[str, Any]) -> str:
    meeting = agenda["meeting"]
    lines = [f"# {agenda_title(meeting)}", ""]
    lines.append(f"**{md(meeting['title'])}**, {md(meeting['place'] or 'plaats volgt')}")
    lines.append("")
    for key, heading in (
        ("open_questions", "Open vragen"),
        ("action_items", "Actiepunten"),
        ("decisions", "Besluiten sinds de vorige bijeenkomst"),
        ("completed_actions", "Afgerond sinds de vorige bijeenkomst"),
    ):
        lines.append(f"## {heading}")
        lines.append("")
        lines.extend([_item_line(i) for i in agenda.get(key, [])] or ["_Geen._"])
        lines.append("")
    return "\n".join(lines)


def report_draft(agenda: dict[str, Any]) -> str:
    """A first verslag for the moderator to edit: the meeting, its programme, and what its
    agenda lists (questions, decisions and action items), as Markdown."""
    meeting = agenda["meeting"]
    lines = [f"# Verslag: {md(meeting['title'])}", ""]
    lines.append(f"_{dutch_date(meeting['date'])}, {md(meeting['place'] or 'plaats volgt')}_")
    lines += ["", "## Programma", ""]
    programme = [md(p) for p in (meeting.get("programme") or "").splitlines() if p.strip()]
    lines += [f"- {p}" for p in programme] or ["_Geen programma._"]
    lines += ["", "## Wat we bespraken", "", "_Schrijf hier de hoofdlijnen._", ""]
    for key, heading in (
        ("decisions", "Besluiten"),
        ("action_items", "Actiepunten"),
        ("open_questions", "Open vragen"),
    ):
        lines += [f"## {heading}", ""]
        lines.extend([_item_line(i) for i in agenda[key]] or ["_Geen._"])
        lines.append("")
    return clean("\n".join(lines))


def _room_counts(room: dict[str, Any]) -> list[str]:
    parts = []
    if room["new_messages"]:
        parts.append(f"{room['new_messages']} nieuwe berichten")
    for key, one, many in (
        ("mentions", "vermelding van jou", "vermeldingen van jou"),
        ("open_questions", "open vraag", "open vragen"),
        ("action_items", "actiepunt", "actiepunten"),
        ("decisions", "besluit", "besluiten"),
        ("new_members", "nieuw lid", "nieuwe leden"),
    ):
        n = len(room[key])
        if n:
            parts.append(f"{n} {one if n == 1 else many}")
    return parts


def report_link(url: str, meeting_slug: str) -> str:
    """The web client's address of a meeting's verslag."""
    return f"{url.rstrip('/')}/verslag/{meeting_slug}"


def _report_line(report: dict[str, Any]) -> str:
    return report["notice"] or f"Het verslag van {dutch_date(report['date'])} staat online"


def digest_subject(meeting: dict[str, Any]) -> str:
    """The e-mail's subject: the meeting's title and day."""
    return clean(
        f"Werkplaats: sinds de vorige bijeenkomst — {meeting['title']}, "
        f"{dutch_date(meeting['date'])}"
    )


def digest_text(
    name: str, meeting: dict[str, Any], catchup: dict[str, Any], agenda: dict[str, Any], url: str
) -> str:
    """The plain-text digest of one member."""
    lines = [
        f"Beste {name},",
        "",
        f'Op {dutch_moment(meeting["date"])} is de bijeenkomst "{meeting["title"]}"'
        + (f" in {meeting['place']}." if meeting["place"] else "."),
        "",
        "Sinds de vorige bijeenkomst",
        "===========================",
    ]
    if not catchup["rooms"]:
        lines.append("Niets nieuws in je kamers.")
    for room in catchup["rooms"]:
        lines.append("")
        lines.append(f"{room['name']} (#{room['slug']}): {', '.join(_room_counts(room))}")
        for mention in room["mentions"]:
            lines.append(f"  @ {mention['author']['display_name']}: {mention['excerpt']}")
        for key in ("decisions", "open_questions", "action_items"):
            for item in room[key]:
                lines.append(f"  {KIND_LABEL[item['kind']]}: {item['excerpt']}")
    if catchup.get("reports"):
        lines += ["", "Verslagen", "========="]
    for report in catchup.get("reports", []):
        lines.append(f"- {report['title']}: {_report_line(report)}")
        lines.append(f"  {report_link(url, report['meeting'])}")
    lines += ["", agenda_title(meeting), "=" * len(agenda_title(meeting))]
    items = agenda["open_questions"] + agenda["action_items"]
    lines += [f"- {KIND_LABEL[i['kind']]}: {i['excerpt']} (#{i['room']})" for i in items] or [
        "Geen open vragen of actiepunten."
    ]
    lines += [
        "",
        f"Lees verder: {url}",
        "",
        "Je krijgt dit bericht als deelnemer van De Werkplaats. Wil je het niet meer "
        "ontvangen? Zet de samenvatting uit bij je instellingen.",
    ]
    return clean("\n".join(lines) + "\n")


def digest_html(
    name: str, meeting: dict[str, Any], catchup: dict[str, Any], agenda: dict[str, Any], url: str
) -> str:
    """The HTML digest of one member: the same content, every value escaped."""
    e = html.escape
    parts = [
        '<!doctype html><html lang="nl"><head><meta charset="utf-8">',
        f"<title>{e(digest_subject(meeting))}</title></head><body>",
        f"<p>Beste {e(name)},</p>",
        f"<p>Op <strong>{e(dutch_moment(meeting['date']))}</strong> is de bijeenkomst "
        f"<strong>{e(meeting['title'])}</strong>"
        + (f" in {e(meeting['place'])}" if meeting["place"] else "")
        + ".</p>",
        "<h1>Sinds de vorige bijeenkomst</h1>",
    ]
    if not catchup["rooms"]:
        parts.append("<p>Niets nieuws in je kamers.</p>")
    for room in catchup["rooms"]:
        parts.append(f"<h2>{e(room['name'])}</h2><p>{e(', '.join(_room_counts(room)))}</p><ul>")
        for mention in room["mentions"]:
            parts.append(
                f"<li>@ {e(mention['author']['display_name'])}: {e(mention['excerpt'])}</li>"
            )
        for key in ("decisions", "open_questions", "action_items"):
            for item in room[key]:
                parts.append(
                    f"<li><em>{e(KIND_LABEL[item['kind']])}</em>: {e(item['excerpt'])}</li>"
                )
        parts.append("</ul>")
    if catchup.get("reports"):
        parts.append("<h1>Verslagen</h1><ul>")
        for report in catchup["reports"]:
            link = e(report_link(url, report["meeting"]))
            parts.append(
                f'<li><a href="{link}">{e(report["title"])}</a>: {e(_report_line(report))}</li>'
            )
        parts.append("</ul>")
    parts.append(f"<h1>{e(agenda_title(meeting))}</h1><ul>")
    items = agenda["open_questions"] + agenda["action_items"]
    for i in items:
        parts.append(
            f"<li><em>{e(KIND_LABEL[i['kind']])}</em>: {e(i['excerpt'])} (#{e(i['room'])})</li>"
        )
    if not items:
        parts.append("<li>Geen open vragen of actiepunten.</li>")
    parts.append("</ul>")
    parts.append(f'<p><a href="{e(url, quote=True)}">Lees verder in De Werkplaats</a></p>')
    parts.append(
        "<p><small>Je krijgt dit bericht als deelnemer van De Werkplaats. Wil je het niet meer "
        "ontvangen? Zet de samenvatting uit bij je instellingen.</small></p></body></html>"
    )
    return clean("\n".join(parts) + "\n")
