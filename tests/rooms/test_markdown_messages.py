"""Message bodies' Markdown on the server: the subset becomes HTML, plain text gets none."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rooms.markdown import _MARKS, may_have_marks, message_html


@pytest.mark.parametrize(
    "body", ["gewoon tekst", "user_name en 2*3*4 en @a_b_c", "# geen kop", "https://example.org"]
)
def test_plain_text_has_no_html(body: str) -> None:
    assert message_html(body) is None


def test_the_subset() -> None:
    assert message_html("**vet** en *schuin*") == "<p><strong>vet</strong> en <em>schuin</em></p>"
    assert message_html("- een\n- twee") == "<ul>\n<li>een</li>\n<li>twee</li>\n</ul>"
    assert (
        message_html("> citaat\nverder") == "<blockquote>\n<p>citaat<br>\nverder</p>\n</blockquote>"
    )
    assert message_html("```\nx<y\n```") == "<pre><code>x&lt;y\n</code></pre>"
    assert message_html("zie [kaart](https://x.nl)") == (
        '<p>zie <a href="https://x.nl" rel="noopener noreferrer nofollow ugc">kaart</a></p>'
    )


def test_raw_html_and_bad_links_stay_text() -> None:
    assert message_html("<b>*x*</b>") == "<p>&lt;b&gt;<em>x</em>&lt;/b&gt;</p>"
    assert message_html("[klik](javascript:alert(1)) *x*") == (
        "<p>[klik](javascript:alert(1)) <em>x</em></p>"
    )
    # A heading or image would be more than a chat message needs: text.
    assert "<img" not in (message_html("![x](https://x.nl/a.png) *x*") or "")


@given(st.text(alphabet="ab 1.)\n`>*+_~[]()-!#", max_size=40))
def test_the_cheap_test_never_hides_a_mark(body: str) -> None:
    """`message_html` skips the full pattern when `may_have_marks` says no: that must never
    be a body the pattern matches."""
    assert may_have_marks(body) or _MARKS.search(body) is None
