"""``mistri-bot demo --channel whatsapp``: Rahim on WhatsApp through ``serve``'s app, the rest on
Telegram; the transcript shows WhatsApp's lists and reply buttons, and ``--script`` plays both."""

from __future__ import annotations

import io
import re
import sys

import pytest
from sqlalchemy import text

from channels.telegram.fake_api import FakeBotApi
from channels.whatsapp.fake_api import FakeGraphApi
from service.config import Settings
from service.demo import run_demo
from service.demo import whatsapp as whatsapp_demo
from service.demo.cast import OPERATORS_CHAT

REFERENCE = re.compile(r"MS-[0-9A-Z]{3,}")
#: Rahim's lines (the left margin), and the reply-button line: at most three, no list sign.
THREE_BUTTONS = re.compile(r"^  \[1\] [^\[]+  \[2\] [^\[]+  \[3\] [^\[]+$", re.MULTILINE)


async def demo(
    *lines: str, script: bool = False, channel: str | None = "whatsapp"
) -> tuple[int, str]:
    """Run the demo (its script, or the prompt fed ``lines``); its status and transcript."""
    out = io.StringIO()
    settings = Settings(_env_file=None)
    stdin = io.StringIO("".join(f"{line}\n" for line in lines))
    code = await run_demo(
        settings,
        script=script,
        lang="en",
        database=None,
        channel=channel,
        out=out,
        stdin=stdin,
    )
    return code, out.getvalue()


def pane(transcript: str, label: str) -> list[str]:
    """The lines printed in the margin of ``label``'s Telegram chat, margin removed."""
    prefix = re.compile(rf"^  {re.escape(label)} *│ ?(.*)$")
    return [m.group(1) for line in transcript.splitlines() if (m := prefix.match(line))]


async def test_the_whatsapp_script_books_on_whatsapp_and_karim_accepts_on_telegram() -> None:
    code, out = await demo(script=True)
    assert code == 0, out
    assert out.rstrip().endswith("demo script: OK")
    # The services come as a list message: its button, then the numbered rows.
    services = next(line for line in out.splitlines() if "Plumbing" in line and "≡" in line)
    assert services.startswith("  ≡ Choose: [1] 🚚 House shifting")
    assert "[6] 🛠 Other repairs" in services
    # Three choices that fit are reply buttons, shown as such (the consent).
    assert "  [1] ✅ I agree  [2] 📄 Read the policy  [3] ✖ No, thanks" in out
    assert THREE_BUTTONS.search(out)
    assert "(WhatsApp's location picker)" in out
    (reference,) = set(REFERENCE.findall(out))
    customer = [line for line in out.splitlines() if line.startswith("  [bot → you · WhatsApp]")]
    assert any(reference in line for line in customer)
    # The technician is on Telegram: the offer, then the Accept, in Karim's margin.
    karim = pane(out, "Karim")
    assert "[bot] 🔔 New job" in karim
    assert f"Reference: {reference}" in karim
    assert any(line.startswith("[edited] ✅ You accepted this job.") for line in karim)
    assert "Karim Uddin" in out.split("Karim> taps “✅ Accept”", 1)[1]


async def test_typing_numbers_taps_whatsapp_buttons_list_rows_and_the_location_request() -> None:
    code, out = await demo(
        "1",  # Book a technician (the welcome's button)
        "1",  # I agree
        "3",  # Plumbing: the third row of the list
        "Kitchen tap is leaking",
        "1",  # Mirpur: the first row of the areas' list
        "2",  # the location request (after the Back button)
        "1",  # Use 017••••5678
    )
    assert code == 0
    assert "you> taps “🚰 Plumbing”" in out
    assert "you> taps “Mirpur”" in out
    assert "you> taps “📍 Send location”" in out
    assert "Location received." in out or "📍" in out.split("Send location”", 1)[1]
    # His own WhatsApp number was taken in one tap (the address step was the pin).
    assert "Phone: 01712345678" in out


async def test_rahims_lines_are_signed_webhooks_stored_in_serves_inbox(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = FakeBotApi()
    async with whatsapp_demo.whatsapp_chat(
        settings.model_copy(update={"admin_chat_id": OPERATORS_CHAT}), api, io.StringIO(), "en"
    ) as chat:
        await chat.say("/start")
        await chat.say("/help")
        assert chat.statuses == [200, 200]
        async with chat.served.db.read() as tx:
            rows = (await tx.execute(text("SELECT channel, state FROM inbox"))).all()
        assert [tuple(row) for row in rows] == [("whatsapp", "done"), ("whatsapp", "done")]
        answered = chat.graph.sent_to(whatsapp_demo.WA_ID)
        assert answered and all(body["messaging_product"] == "whatsapp" for body in answered)
        # A body signed with another secret is refused by serve's app, and nothing stored.
        chat._app_secret = "not-the-app-secret"  # the test forges a signature
        await chat.say("/privacy")
        assert chat.statuses[-1] == 403
        async with chat.served.db.read() as tx:
            count = (await tx.execute(text("SELECT count(*) FROM inbox"))).scalar_one()
        assert count == 2


async def test_script_alone_plays_telegram_then_whatsapp() -> None:
    code, out = await demo(script=True, channel=None)
    assert code == 0, out
    telegram, whatsapp = out.split("Mistri Services demo on WhatsApp", 1)
    assert "── A booking ──" in telegram
    assert "── A booking on WhatsApp" in whatsapp
    assert len(set(REFERENCE.findall(telegram))) == 1
    assert len(set(REFERENCE.findall(whatsapp))) == 1
    assert out.count("demo script: OK") == 1
    assert out.rstrip().endswith("demo script: OK")


async def test_the_script_fails_when_the_graph_api_refuses_a_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Refusing(FakeGraphApi):
        def __init__(self, **kwargs: object) -> None:
            super().__init__(**kwargs)  # type: ignore[arg-type]
            self.fail_next(131009, count=1)  # a parameter out of bounds: the welcome is lost

    monkeypatch.setattr(whatsapp_demo, "FakeGraphApi", Refusing)
    code, out = await demo(script=True)
    assert code == 1
    assert "demo script: FAILED" in out.splitlines()[-1]


def test_the_cli_passes_the_channel(monkeypatch: pytest.MonkeyPatch) -> None:
    from service import cli

    seen: list[object] = []

    async def fake_run_demo(settings: Settings, **kwargs: object) -> int:
        seen.append(kwargs["channel"])
        return 0

    monkeypatch.setattr("service.demo.run_demo", fake_run_demo)
    monkeypatch.setattr("service.cli.logs.configure", lambda level: None)
    monkeypatch.setattr(sys, "argv", ["mistri-bot"])
    assert cli.main(["demo", "--channel", "whatsapp", "--script"]) == 0
    assert cli.main(["demo", "--script"]) == 0
    assert seen == ["whatsapp", None]
