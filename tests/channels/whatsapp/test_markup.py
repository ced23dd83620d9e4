"""The flows' HTML as WhatsApp markup: the message's tags format, nobody's text does."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from channels.whatsapp.markup import to_whatsapp
from conversations.text import esc

MARKERS = set("*_~`")


def test_tags_become_markers_hugging_the_text() -> None:
    assert to_whatsapp("<b>Hi</b> <i>there</i>") == "*Hi* _there_"
    assert to_whatsapp("<b> spaced </b>!") == " *spaced* !"
    assert to_whatsapp("<code>BK-12</code> <s>old</s><u>u</u>") == "```BK-12``` ~old~u"
    assert to_whatsapp("<b></b>x<b>open") == "x*open*"
    assert to_whatsapp("a &amp; b &lt;b&gt; &quot;") == 'a & b <b> "'


@given(st.text(max_size=200))
def test_user_text_never_formats_and_never_grows(user: str) -> None:
    html = f"<b>Name:</b> {esc(user)}"
    converted = to_whatsapp(html)
    # The only markers are the two of the message's own <b>.
    assert sum(converted.count(m) for m in MARKERS) == 2
    assert converted.startswith("*Name:*")
    assert len(converted) <= len(html)
