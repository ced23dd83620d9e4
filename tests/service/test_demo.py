"""``mistri-bot demo``: the script's stages, and typing as the technician and the operator."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest

from service.config import Settings
from service.demo import run_demo, script
from service.demo.cast import CUSTOMER_PHONE_SHOWN, OPERATOR, OPERATORS_CHAT
from service.demo.chat import DemoChat

#: Rahim books a plumber in English, typing as the README says (numbers tap his buttons).
BOOKING = [
    "1",  # Book a service
    "1",  # I agree
    "3",  # Plumbing
    "Kitchen tap is leaking",
    "1",  # Mirpur
    "House 12, Road 5, Block C, Mirpur 10",
    "1",  # Share my number
    "1",  # Rahim
    "1",  # the first time offered
    "1",  # Confirm
]


async def demo(*lines: str, script: bool = False) -> tuple[int, str]:
    """Run the demo (the script, or the console fed ``lines``); its status and transcript."""
    out = io.StringIO()
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    stdin = io.StringIO("".join(f"{line}\n" for line in lines))
    code = await run_demo(settings, script=script, lang="en", database=None, out=out, stdin=stdin)
    return code, out.getvalue()


def pane(transcript: str, label: str) -> list[str]:
    """The lines printed in the margin of ``label``'s chat, margin removed."""
    prefix = re.compile(rf"^  {re.escape(label)} *│ ?(.*)$")
    return [m.group(1) for line in transcript.splitlines() if (m := prefix.match(line))]


def shows_phone(lines: list[str]) -> bool:
    return any(shown in line for line in lines for shown in CUSTOMER_PHONE_SHOWN)


async def test_the_script_shows_the_whole_life_of_a_job() -> None:
    code, out = await demo(script=True)
    assert code == 0, out
    assert out.rstrip().endswith("demo script: OK")
    assert len(set(re.findall(r"MS-[0-9A-Z]{3,}", out))) == 1  # one booking, its reference
    karim = pane(out, "Karim")
    accepted = karim.index("[edited] ✅ You accepted this job. The customer's contact follows.")
    # The offer carries no contact; the contact comes with the Accept, and only then.
    assert not shows_phone(karim[:accepted])
    assert shows_phone(karim[accepted:])
    assert "Karim> /jobs" in out
    assert any(line.startswith("[bot] Your open jobs") for line in karim)
    assert "🚗 Karim Uddin is on the way for your job" in out
    assert "Your job" in out and "is done." in out
    assert "You rated" in out and "★★★★★" in out
    assert "you> /myorders" in out and "you> /privacy" in out
    # The customer's erasure takes Karim's copy of the contact out of his chat, visibly.
    erased = out.index("you> taps “🗑 Yes, erase”")
    assert any(line.startswith("(message deleted) “Customer — MS-") for line in karim)
    assert "  Karim     │ (message deleted)" in out[erased:]
    # The operators' chat is seen: Sumon's application lands there and Nadia approves it.
    operators = pane(out, "Operators")
    assert "[bot] 🧰 New technician application" in operators
    assert "[edited] ✅ Approved by Nadia." in operators
    assert "your technician application is approved" in " ".join(pane(out, "Sumon")).lower()
    # Mid-booking Rahim asks for a person: a thread in the operators' chat; Nadia's answer
    # (a reply to it) reaches him; /done ends it and the booking goes on at the address.
    talk = out.index("you> I want to talk to a person")
    assert "[bot] 🙋 Talk to a person · #1" in operators
    relayed = [line for line in out[talk:].splitlines() if line.startswith("  [bot → you] ")]
    assert any(script.HANDOFF_ANSWER in line for line in relayed)
    assert "[bot] ✅ #1 closed; the customer was told." in operators
    closed = out.index("  Operators │ [bot] ✅ #1 closed")
    assert closed < out.index("you> House 12, Road 5") < out.index("you> taps “✅ Confirm”")
    # Only what Rahim typed goes to the operators: his phone never reaches their chat.
    assert operators and not shows_phone(operators)


async def test_typing_as_the_technician_shows_his_jobs_and_moves_one() -> None:
    code, out = await demo(*BOOKING, "t1", "t/jobs", "t1")
    assert code == 0
    karim = pane(out, "Karim")
    assert "Karim> taps “✅ Accept”" in out
    assert "Karim> /jobs" in out
    jobs = karim.index("[bot] Your open jobs")
    assert "[t1] 🚗 On the way  [t2] ✖ Cancel" in karim[jobs:]
    assert "Karim> taps “🚗 On the way”" in out
    assert "is on the way for your job" in out


async def test_an_order_nobody_takes_lands_in_the_operators_chat_and_o1_assigns_it() -> None:
    code, out = await demo(*BOOKING, "t2", "j2", "o1")
    assert code == 0
    operators = pane(out, "Operators")
    assert any("No technician took this job" in line for line in operators)
    assert any(line.startswith("[o1] Assign ") for line in operators)
    # Nadia is the chat's administrator in the fake Bot API: her press is obeyed.
    assert "Nadia> taps “Assign Karim Uddin”" in out
    assert "[edited] ✅ Assigned to Karim Uddin." in operators
    assert "[bot] 📌 Our team assigned you this job." in pane(out, "Karim")


@pytest.mark.parametrize("typed", ["x1", "k/jobs", "z:hello"])
async def test_an_unknown_prefix_gets_the_help_line_and_sends_nothing(typed: str) -> None:
    code, out = await demo(typed)
    assert code == 0
    assert f"(nobody is “{typed[0]}”)" in out
    assert "t = technician Karim" in out.split(f"(nobody is “{typed[0]}”)", 1)[1]
    assert "don't understand" not in out and "tap the button" not in out.lower()


async def test_question_mark_shows_the_prefixes_again() -> None:
    _, out = await demo("?")
    # Once at the start, once for "?".
    assert out.count("o>text answers (reply-to) the latest notice") == 2


async def test_o_reply_answers_the_latest_bot_message_in_the_operators_chat(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[dict[str, Any]] = []
    original = DemoChat.send

    async def recording(self: DemoChat, update: dict[str, Any]) -> None:
        sent.append(update)
        await original(self, update)

    monkeypatch.setattr(DemoChat, "send", recording)
    code, out = await demo("o>too early", "o/orders", "o>Hello Rahim")
    assert code == 0
    assert "(no message of the bot's there to reply to)" in out
    message = sent[-1]["message"]
    assert message["text"] == "Hello Rahim"
    assert message["chat"]["id"] == OPERATORS_CHAT
    assert message["from"]["id"] == OPERATOR.user_id
    answered = message["reply_to_message"]
    assert answered["from"]["is_bot"] and answered["chat"]["id"] == OPERATORS_CHAT
    orders_answer = sent[-2]["message"]["message_id"]  # the /orders command, then its answer
    assert answered["message_id"] > orders_answer
    assert "Nadia> replies to “No open orders.”: Hello Rahim" in out
