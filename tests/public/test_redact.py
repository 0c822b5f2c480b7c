"""Names, e-mail addresses and telephone numbers out of free text (rooms/redact.py)."""

from __future__ import annotations

import pytest

from rooms.redact import Person, Redactor

PEOPLE = [
    Person("ann", "Ann Aalders", "Gemeente A (gemeente)"),
    Person("j.devries", "Jan de Vries", "Wetterskip Fryslân (waterschap)"),
    Person("pieter", "Pieter-Jan Bakker", "Provincie B (provincie)"),
]
redact = Redactor(PEOPLE).text


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        # Known people: full name (any case, any spacing), @username, a username as a word.
        ("Vraag het Ann Aalders.", "Vraag het Gemeente A (gemeente)."),
        ("vraag het ann  aalders", "vraag het Gemeente A (gemeente)"),
        ("Klopt dat, @ann.", "Klopt dat, Gemeente A (gemeente)."),
        ("mail j.devries even", "mail Wetterskip Fryslân (waterschap) even"),
        ("@j.devries: ja", "Wetterskip Fryslân (waterschap): ja"),
        # Their first names and surnames on their own.
        ("Jan belt morgen, Aalders niet.", "[naam] belt morgen, [naam] niet."),
        ("Bakker en Pieter-Jan", "[naam] en [naam]"),
        ("Bakker-Jan en Noord-Jan", "[naam]-[naam] en Noord-[naam]"),
        # People without an account, after a title or with initials.
        ("Volgens mevrouw Jansen klopt het.", "Volgens mevrouw [naam] klopt het."),
        ("dhr. P. van der Berg belde", "dhr. [naam] belde"),
        ("Wethouder De Graaf komt", "Wethouder [naam] komt"),
        ("Zie J.K. Smit.", "Zie [naam]."),
        # Contact details.
        (
            "Mail ann.aalders@gemeente-a.nl of bel 06-12345678.",
            "Mail [e-mailadres] of bel [telefoonnummer].",
        ),
        ("Tel. 058 123 45 67 of +31 (0)6 1234 5678", "Tel. [telefoonnummer] of [telefoonnummer]"),
        # Left alone: dates, times, amounts, unknown handles, ordinary words.
        ("Op 2026-12-06 om 14:30, 12 500 euro.", "Op 2026-12-06 om 14:30, 12 500 euro."),
        ("@waterschap en de boer van de bakker", "@waterschap en de boer van de bakker"),
        ("Janssen en Annemarie", "Janssen en Annemarie"),
    ],
)
def test_reduced(given: str, shown: str) -> None:
    assert redact(given) == shown


def test_kept_names_stay_and_their_mentions_become_names() -> None:
    """On a public page, an author who chose to be named keeps their name."""
    shown = Redactor(PEOPLE).text("@ann en Ann Aalders, Ann, Jan ook, @j.devries", keep={"ann"})
    assert shown == "Ann Aalders en Ann Aalders, Ann, [naam] ook, Wetterskip Fryslân (waterschap)"


def test_html_text_only() -> None:
    html = '<p>Met <a href="https://example.org/ann">Ann Aalders</a> en @pieter</p>'
    assert Redactor(PEOPLE).html(html) == (
        '<p>Met <a href="https://example.org/ann">Gemeente A (gemeente)</a> en '
        "Provincie B (provincie)</p>"
    )


def test_no_people_still_reduces_contact_details() -> None:
    assert Redactor([]).text("info@example.org, Ann") == "[e-mailadres], Ann"
