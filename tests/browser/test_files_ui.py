"""Attachments in the browser: attach a PDF with the keyboard, see its card, and download it
in a second browser; the screen stays axe-clean."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import FileChooser, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.conftest import Server
from tests.browser.ui import (
    assert_accessible,
    assert_clean,
    in_room,
    signed_in,
    unique,
    wait_for_message,
)
from tests.files.conftest import CLAMD_PORT, PDF, started
from tests.helpers import require

pytestmark = pytest.mark.browser

THEME = "werken-als-een-overheid"


def chooser_by_keyboard(page: Page) -> FileChooser:
    """The file chooser opened by Enter on the focused file input. Playwright turns on its
    interception without waiting for it, so now and then the first key is lost to a chooser
    nobody intercepts; a second Enter is what a person would do too."""
    for attempt in range(3):
        try:
            with page.expect_file_chooser(timeout=4000) as chooser:
                page.keyboard.press("Enter")
            return chooser.value
        except PlaywrightTimeout:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def test_attach_a_pdf_and_download_it(
    open_tab, server: Server, axe_source: Path, tmp_path: Path
) -> None:
    """Anna attaches a PDF (keyboard only); Bram sees its card and downloads it."""
    require("clamd", started("clamd", CLAMD_PORT), f"127.0.0.1:{CLAMD_PORT}")
    anna, bram = in_room(open_tab, server, THEME, "anna", "bram")
    pdf = tmp_path / "Verslag werkplaats.pdf"
    pdf.write_bytes(PDF)
    page = anna.page
    # The file input is the label's; a file chooser is the system's, so the file is set.
    page.get_by_label("Bestand toevoegen").set_input_files(str(pdf))
    page.locator(".upload-item.upload-done", has_text="Verslag werkplaats.pdf").wait_for()
    text = unique("Het verslag als bijlage")
    box = page.locator("#composer-input")
    box.focus()
    page.keyboard.type(text)
    page.keyboard.press("Enter")

    card = wait_for_message(bram, text).first.locator(".file-card")
    card.wait_for()
    assert "Verslag werkplaats.pdf" in card.inner_text() and "PDF" in card.inner_text()
    assert f"{len(PDF)} B" in card.inner_text()  # name, type and size
    assert card.locator("img").count() == 0  # only images have a preview
    link = card.get_by_role("link", name="Verslag werkplaats.pdf")
    link.focus()
    with bram.page.expect_download() as got:
        bram.page.keyboard.press("Enter")
    saved = tmp_path / "downloaded.pdf"
    got.value.save_as(str(saved))
    assert saved.read_bytes() == PDF
    assert got.value.suggested_filename == "Verslag werkplaats.pdf"
    assert_accessible(bram, axe_source, "kamer met bijlage")
    assert_accessible(anna, axe_source, "kamer na het versturen van een bijlage")
    assert_clean(anna)
    assert_clean(bram)


def test_image_shows_its_preview(
    open_tab, server: Server, axe_source: Path, tmp_path: Path
) -> None:
    """An attached photo is shown inline as its preview, with its name as alt text, in a
    card that still names its type and size."""
    from tests.files.test_previews import photo

    require("clamd", started("clamd", CLAMD_PORT), f"127.0.0.1:{CLAMD_PORT}")
    anna, bram = in_room(open_tab, server, THEME, "anna", "bram")
    jpg = tmp_path / "Kaart van het gebied.jpg"
    jpg.write_bytes(photo())
    page = anna.page
    page.get_by_label("Bestand toevoegen").set_input_files(str(jpg))
    page.locator(".upload-item.upload-done", has_text="Kaart van het gebied.jpg").wait_for()
    text = unique("De kaart")
    page.locator("#composer-input").focus()
    page.keyboard.type(text)
    page.keyboard.press("Enter")

    card = wait_for_message(bram, text).first.locator(".file-card")
    img = card.get_by_role("img", name="Kaart van het gebied.jpg")
    img.wait_for()
    bram.page.wait_for_function(
        "el => el.complete && el.naturalWidth > 0", arg=img.element_handle(), timeout=10_000
    )
    width = img.evaluate("el => el.naturalWidth")
    assert 0 < width <= 480
    assert "JPEG-afbeelding" in card.inner_text()
    assert_accessible(bram, axe_source, "kamer met een afbeelding")
    assert_clean(bram)


def test_moderator_attaches_appendices_to_the_report(
    open_tab, server: Server, axe_source: Path, tmp_path: Path
) -> None:
    """On the bijeenkomst page a moderator attaches a file to the report with the keyboard
    alone (the chooser opened by a key, a progress bar while it goes up); the report then
    lists it as a card, for its readers too, and the page stays axe-clean."""
    from web.demo import demo_slug

    require("clamd", started("clamd", CLAMD_PORT), f"127.0.0.1:{CLAMD_PORT}")
    meeting = demo_slug("bijeenkomst-2026-11-28-tijnje")  # its verslag is published
    pdf = tmp_path / "Presentatie gebiedsplan.pdf"
    pdf.write_bytes(PDF)
    tab = signed_in(open_tab, server, "pieter")
    page = tab.page
    page.goto(f"/bijeenkomst/{meeting}")
    page.get_by_role("heading", name="Bijlagen bij het verslag").wait_for()
    picker = page.get_by_label("Bijlage toevoegen")
    picker.focus()
    expect(picker).to_be_focused()
    chooser_by_keyboard(page).set_files(str(pdf))
    page.locator(".report-attach .upload-item.upload-done").wait_for()
    card = page.locator(".report-files .file-card", has_text="Presentatie gebiedsplan.pdf")
    card.wait_for()
    assert "PDF" in card.inner_text()
    assert page.locator(".report-attach .upload-item button", has_text="Verwijderen").count() == 0
    assert_accessible(tab, axe_source, "bijeenkomst met een bijlage bij het verslag")
    assert_clean(tab)

    reader = signed_in(open_tab, server, "anna")
    reader.page.goto(f"/verslag/{meeting}")
    link = reader.page.locator(".report-files").get_by_role(
        "link", name="Presentatie gebiedsplan.pdf"
    )
    link.wait_for()
    link.focus()
    with reader.page.expect_download() as got:
        reader.page.keyboard.press("Enter")
    saved = tmp_path / "bijlage.pdf"
    got.value.save_as(str(saved))
    assert saved.read_bytes() == PDF
    assert reader.page.locator(".report-attach").count() == 0
    assert_accessible(reader, axe_source, "verslag met bijlagen, als deelnemer")
