"""A whole booking through ``Runtime.process`` and the recording offline Bot API.

Every test drives the production runtime (inbound reading, the core's handling, flows, SQLite,
the outbox's delivery) and asserts the exact Bot API requests it makes. Bengali wording is
being translated, so Bengali runs assert structure (methods, chats, markup, callback_data),
never Bengali text.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

import pytest

from channels.telegram.fake_api import ApiCall, FakeBotApi
from conversations.digits import localize_digits
from tests.conftest import Bot

CUSTOMER = 5_001_001
TECH = 9_001_001
TECH_2 = 9_001_002
STRANGER = 7_777_001
ADMIN_CHAT = -100500

CUSTOMER_NAME = "Rahim"
CUSTOMER_PHONE = "01712345678"
CUSTOMER_E164 = "+8801712345678"
TECH_NAME = "Karim Uddin"
TECH_PHONE = "01812345678"
TECH_2_NAME = "Jamal Hossain"
TECH_2_PHONE = "01912345678"
ADDRESS = "House 12, Road 5, Block C, Mirpur 10, near the mosque"
PROBLEM = "Kitchen tap <b>leaking</b> & dripping"
PIN = (23.8103, 90.4125)

REFERENCE_RE = re.compile(r"MS-[0-9A-Z]+")
SERVICE_SLUGS = ["house-shifting", "masonry", "plumbing", "electrical", "ac-servicing", "repairs"]
APOLOGY = "something went wrong"
MESSAGE_METHODS = ("sendMessage", "editMessageText")


# ------------------------------------------------------------------------------- helpers


def inline_data(call: ApiCall) -> list[str]:
    """The callback_data of every inline button of a call, row by row."""
    markup = call.params.get("reply_markup") or {}
    return [button["callback_data"] for row in markup.get("inline_keyboard", ()) for button in row]


def reply_keys(call: ApiCall) -> list[dict[str, Any]]:
    """The reply-keyboard keys of a call."""
    markup = call.params.get("reply_markup") or {}
    return [key for row in markup.get("keyboard", ()) for key in row]


def removes_keyboard(call: ApiCall) -> bool:
    return (call.params.get("reply_markup") or {}).get("remove_keyboard") is True


def text_of(call: ApiCall) -> str:
    return str(call.params.get("text", ""))


def has_number(text: str, national: str) -> bool:
    """Whether ``text`` shows a phone number, in Latin or Bengali digits."""
    return national in text or localize_digits(national, "bn") in text


def bot_messages(api: FakeBotApi, chat: int) -> list[dict[str, Any]]:
    """Every message of a chat as the fake server holds it now, by id (ids are not dense)."""
    return api.messages(chat)


def message_with_button(api: FakeBotApi, chat: int, data: str, *, newest: bool = True) -> int:
    """The id of the (newest or oldest) bot message in ``chat`` that carries button ``data``."""
    ids = [
        message["message_id"]
        for message in bot_messages(api, chat)
        if message["from"]["is_bot"]
        and any(
            button.get("callback_data") == data
            for row in (message.get("reply_markup") or {}).get("inline_keyboard", ())
            for button in row
        )
    ]
    assert ids, f"no message in chat {chat} offers button {data!r}"
    return ids[-1] if newest else ids[0]


def assert_all_ok(api: FakeBotApi) -> None:
    """No call failed: any unescaped user text, bad markup or over-long text would be a 400."""
    failed = [(call.method, call.status, call.params) for call in api.calls if call.status != 200]
    assert failed == []


def assert_html_everywhere(calls: list[ApiCall]) -> None:
    for call in calls:
        if call.method in MESSAGE_METHODS:
            assert call.params.get("parse_mode") == "HTML", call


#: Bot API methods that only read: left out of a step's calls.
LOOKUPS = frozenset({"getChatAdministrators"})


@dataclass
class Step:
    """The Bot API calls one update caused."""

    calls: list[ApiCall]
    query_id: str | None = None
    sender: int | None = None

    def to(self, chat: int) -> list[ApiCall]:
        """Calls addressed to ``chat``, in order."""
        return [call for call in self.calls if call.params.get("chat_id") == chat]

    def seq(self, chat: int) -> list[str]:
        """Method names of the calls to ``chat`` plus the answer to this step's button press."""
        return [
            call.method
            for call in self.calls
            if call.params.get("chat_id") == chat
            or (
                chat == self.sender
                and call.method == "answerCallbackQuery"
                and call.params.get("callback_query_id") == self.query_id
            )
        ]

    def sends(self, chat: int) -> list[ApiCall]:
        return [call for call in self.to(chat) if call.method == "sendMessage"]

    def texts(self, chat: int) -> list[str]:
        return [text_of(call) for call in self.to(chat) if "text" in call.params]

    @property
    def answers(self) -> list[ApiCall]:
        return [call for call in self.calls if call.method == "answerCallbackQuery"]

    def chats(self) -> set[int]:
        return {call.params["chat_id"] for call in self.calls if "chat_id" in call.params}


@dataclass
class Harness:
    """Sends updates as several people and slices the recorded calls per update."""

    bot: Bot
    pressed: list[str] = field(default_factory=list)

    @property
    def api(self) -> FakeBotApi:
        return self.bot.api

    async def _run(self, update: dict[str, Any]) -> Step:
        mark = len(self.api.calls)
        await self.bot.send(update)
        # What the chats see: the bot's look-ups (who administers the operators' chat) are not
        # part of a step's conversation.
        calls = [call for call in self.api.calls[mark:] if call.method not in LOOKUPS]
        query = update.get("callback_query")
        if query is not None:
            self.pressed.append(query["id"])
        sender = (query or update.get("message") or {}).get("from", {}).get("id")
        step = Step(calls, query["id"] if query else None, sender)
        assert_html_everywhere(calls)
        return step

    def user(self, user_id: int, first_name: str = CUSTOMER_NAME, lang: str = "en") -> Person:
        return Person(self, user_id, first_name, lang)

    def assert_every_press_answered(self) -> None:
        answered = [
            call.params.get("callback_query_id")
            for call in self.api.calls
            if call.method == "answerCallbackQuery"
        ]
        assert sorted(answered) == sorted(self.pressed)


@dataclass
class Person:
    """One Telegram user talking to the bot in a private chat."""

    harness: Harness
    user_id: int
    first_name: str
    lang: str

    @property
    def api(self) -> FakeBotApi:
        return self.harness.api

    async def say(self, text: str) -> Step:
        return await self.harness._run(
            self.api.text_update(self.user_id, text, self.first_name, self.lang)
        )

    async def press(self, data: str, message_id: int | None = None) -> Step:
        """Press button ``data`` on the newest message offering it (or on ``message_id``)."""
        if message_id is None:
            message_id = message_with_button(self.api, self.user_id, data)
        return await self.harness._run(
            self.api.callback_update(self.user_id, data, message_id, self.first_name, self.lang)
        )

    async def share_contact(self, phone: str = CUSTOMER_E164, owner: int | None = 0) -> Step:
        """Share a contact: one's own by default, someone else's, or one without a user id."""
        owner = self.user_id if owner == 0 else owner
        return await self.harness._run(
            self.api.contact_update(self.user_id, phone, owner, self.first_name, self.lang)
        )

    async def share_location(self, lat: float = PIN[0], lon: float = PIN[1]) -> Step:
        return await self.harness._run(
            self.api.location_update(self.user_id, lat, lon, self.first_name, self.lang)
        )

    async def sticker(self) -> Step:
        return await self.harness._run(
            self.api.sticker_update(self.user_id, self.first_name, self.lang)
        )

    async def photo(self) -> Step:
        return await self.harness._run(
            self.api.photo_update(self.user_id, self.first_name, self.lang, caption="see <this>")
        )

    async def voice(self) -> Step:
        return await self.harness._run(
            self.api.voice_update(self.user_id, self.first_name, self.lang)
        )

    def last_prompt(self) -> ApiCall:
        """The newest message sent to this chat that carried a keyboard of any kind."""
        for call in reversed(self.api.sent_to(self.user_id)):
            if call.params.get("reply_markup"):
                return call
        raise AssertionError("no keyboard was ever sent to this chat")


@pytest.fixture
def harness(bot: Bot) -> Harness:
    return Harness(bot)


def only_time_buttons(call: ApiCall) -> list[str]:
    return [data for data in inline_data(call) if data != "bk:time:back"]


async def book_until(person: Person, stop: str, *, pin: bool = False) -> dict[str, Step]:
    """Take ``person`` from /start through the steps up to (not including) answering ``stop``.

    Steps are: consent, service, problem, area, address, phone, name, time, summary, done.
    Returns each step's calls, keyed by the step that was answered.
    """
    order = ["start", "consent", "service", "problem", "area", "address", "phone", "name"]
    order += ["time", "summary", "done"]
    steps: dict[str, Step] = {}
    for name in order:
        if name == stop:
            return steps
        if name == "start":
            await person.say("/start")
            steps[name] = await person.press("go:book")
        elif name == "consent":
            steps[name] = await person.press("bk:consent:yes")
        elif name == "service":
            steps[name] = await person.press("bk:service:plumbing")
        elif name == "problem":
            steps[name] = await person.say(PROBLEM)
        elif name == "area":
            steps[name] = await person.press("bk:area:mirpur")
        elif name == "address":
            steps[name] = await (person.share_location() if pin else person.say(ADDRESS))
        elif name == "phone":
            steps[name] = await person.share_contact()
        elif name == "name":
            steps[name] = await person.say(person.first_name)
        elif name == "time":
            slot = only_time_buttons(person.last_prompt())[0]
            steps[name] = await person.press(slot)
        elif name == "summary":
            steps[name] = await person.press("bk:summary:confirm")
    return steps


async def complete_booking(person: Person, *, pin: bool = False) -> tuple[str, Step]:
    """Book from /start to the confirmation; return the reference and the confirm step."""
    steps = await book_until(person, "done", pin=pin)
    confirm = steps["summary"]
    texts = " ".join(confirm.texts(person.user_id))
    match = REFERENCE_RE.search(texts)
    assert match is not None, texts
    return match.group(0), confirm


# ---------------------------------------------------------------------- the full booking


@pytest.mark.parametrize(("lang", "pin"), [("en", False), ("bn", True)])
async def test_full_booking_from_start_to_accept(
    harness: Harness, bot: Bot, lang: str, pin: bool
) -> None:
    await bot.add_technician(TECH, name=TECH_NAME, phone="+8801812345678")
    customer = harness.user(CUSTOMER, CUSTOMER_NAME, lang)
    technician = harness.user(TECH, "Karim", "en")
    api = harness.api
    english = lang == "en"
    bot_start = len(api.calls)

    # /start: one greeting with Book and the switch to the other language.
    start = await customer.say("/start")
    assert start.seq(CUSTOMER) == ["sendMessage"]
    other = "bn" if english else "en"
    assert inline_data(start.calls[0]) == ["go:book", f"lang:{other}"]
    if english:
        assert "Hello, Rahim!" in text_of(start.calls[0])

    # Book: the consent question.
    book = await customer.press("go:book")
    assert book.seq(CUSTOMER) == ["answerCallbackQuery", "sendMessage"]
    assert inline_data(book.sends(CUSTOMER)[0]) == [
        "bk:consent:yes",
        "bk:consent:policy",
        "bk:consent:no",
    ]

    # Consent: the service menu, all six services.
    consent = await customer.press("bk:consent:yes")
    assert consent.seq(CUSTOMER) == ["answerCallbackQuery", "sendMessage"]
    assert inline_data(consent.sends(CUSTOMER)[0]) == [f"bk:service:{s}" for s in SERVICE_SLUGS]

    # Service: the problem question with Skip and Back.
    service = await customer.press("bk:service:plumbing")
    assert service.seq(CUSTOMER) == ["answerCallbackQuery", "sendMessage"]
    assert inline_data(service.sends(CUSTOMER)[0]) == ["bk:problem:skip", "bk:problem:back"]

    # Problem (typed, with HTML in it): the area list.
    problem = await customer.say(PROBLEM)
    assert problem.seq(CUSTOMER) == ["sendMessage"]
    areas = inline_data(problem.sends(CUSTOMER)[0])
    assert areas[:2] == ["bk:area:mirpur", "bk:area:uttara"]
    assert "bk:area:other" in areas
    assert areas[-3:] == ["bk:area:back", "bk:area:page:1", "bk:area:other"]

    # Area: the address question with a reply keyboard that can share a location.
    area = await customer.press("bk:area:mirpur")
    assert area.seq(CUSTOMER) == ["answerCallbackQuery", "sendMessage"]
    address_prompt = area.sends(CUSTOMER)[0]
    keys = reply_keys(address_prompt)
    assert [key.get("request_location", False) for key in keys] == [True, False]
    assert address_prompt.params["reply_markup"]["resize_keyboard"] is True

    # Address: an acknowledgement, then the phone question with a request_contact key.
    address = await (customer.share_location() if pin else customer.say(ADDRESS))
    assert address.seq(CUSTOMER) == ["sendMessage", "sendMessage"]
    ack, phone_prompt = address.sends(CUSTOMER)
    assert not removes_keyboard(ack)  # the next step has a keyboard too
    assert [key.get("request_contact", False) for key in reply_keys(phone_prompt)] == [
        True,
        False,
    ]

    # Phone (shared contact): the number back, then the name question (name as a key).
    phone = await customer.share_contact()
    assert phone.seq(CUSTOMER) == ["sendMessage", "sendMessage"]
    ack, name_prompt = phone.sends(CUSTOMER)
    assert has_number(text_of(ack), CUSTOMER_PHONE)
    name_keys = reply_keys(name_prompt)
    assert name_keys[0] == {"text": CUSTOMER_NAME}
    assert not any(key.get("request_contact") or key.get("request_location") for key in name_keys)

    # Name: leaving the keyboard steps removes the reply keyboard; then the time slots.
    name = await customer.say(CUSTOMER_NAME)
    assert name.seq(CUSTOMER) == ["sendMessage", "sendMessage"]
    ack, time_prompt = name.sends(CUSTOMER)
    assert removes_keyboard(ack)
    slots = only_time_buttons(time_prompt)
    assert slots
    assert all(re.fullmatch(r"bk:time:\d+-(morning|midday|afternoon|evening)", s) for s in slots)
    assert inline_data(time_prompt)[-1] == "bk:time:back"

    # Time: the summary with Confirm / Edit / Cancel, the user's HTML escaped.
    time = await customer.press(slots[0])
    assert time.seq(CUSTOMER) == ["answerCallbackQuery", "sendMessage"]
    summary = time.sends(CUSTOMER)[0]
    assert inline_data(summary) == ["bk:summary:confirm", "bk:summary:edit", "bk:summary:cancel"]
    assert "&lt;b&gt;leaking&lt;/b&gt; &amp; dripping" in text_of(summary)
    assert has_number(text_of(summary), CUSTOMER_PHONE)
    if english:
        assert ADDRESS in text_of(summary)
        assert "Please check your booking" in text_of(summary)

    # Confirm: the customer gets the reference; the technician a notice without contact.
    confirm = await customer.press("bk:summary:confirm")
    assert confirm.chats() == {CUSTOMER, TECH}
    assert confirm.seq(CUSTOMER) == ["answerCallbackQuery", "sendMessage"]
    confirmed = confirm.sends(CUSTOMER)[0]
    assert removes_keyboard(confirmed)
    reference_match = REFERENCE_RE.search(text_of(confirmed))
    assert reference_match is not None
    reference = reference_match.group(0)
    assert confirm.seq(TECH) == ["sendMessage"]
    notice = confirm.sends(TECH)[0]
    assert reference in text_of(notice)
    accept, decline = inline_data(notice)
    assert re.fullmatch(r"job:acc:\d+", accept)
    assert decline == accept.replace(":acc:", ":dec:")
    notice_text = text_of(notice)
    assert CUSTOMER_NAME not in notice_text
    assert not has_number(notice_text, CUSTOMER_PHONE)
    assert "1712345678" not in notice_text
    assert "Mirpur 10" not in notice_text and "Road 5" not in notice_text
    assert "Kitchen tap" in notice_text  # the job itself is described
    notice_id = message_with_button(api, TECH, accept)

    # Accept: the notice is edited (buttons gone), the contact follows, the customer is told.
    accepted = await technician.press(accept)
    assert accepted.chats() == {CUSTOMER, TECH}
    expected = ["answerCallbackQuery", "editMessageText", "sendMessage"]
    if pin:
        expected.append("sendLocation")
    assert accepted.seq(TECH) == expected
    edit = accepted.to(TECH)[0]
    assert edit.params["message_id"] == notice_id
    assert "reply_markup" not in edit.params
    assert "reply_markup" not in (api.message(TECH, notice_id) or {})
    contact = text_of(accepted.sends(TECH)[0])
    assert reference in contact
    assert CUSTOMER_NAME in contact
    assert has_number(contact, CUSTOMER_PHONE)
    if pin:
        location = accepted.to(TECH)[-1]
        assert (location.params["latitude"], location.params["longitude"]) == PIN
    else:
        assert ADDRESS in contact
    assert accepted.seq(CUSTOMER) == ["sendMessage"]
    coming = text_of(accepted.sends(CUSTOMER)[0])
    assert TECH_NAME in coming
    assert has_number(coming, TECH_PHONE)
    assert reference in coming
    if english:
        assert "You accepted this job." in text_of(edit)
        assert "will do your job" in coming

    # Nothing went to anyone else, every press was answered once, every call succeeded.
    all_calls = api.calls[bot_start:]
    assert {c.params["chat_id"] for c in all_calls if "chat_id" in c.params} == {CUSTOMER, TECH}
    assert not any(APOLOGY in text_of(c) for c in all_calls)
    harness.assert_every_press_answered()
    assert_all_ok(api)


# --------------------------------------------------------------------- technicians' buttons


async def test_accept_by_someone_else_changes_nothing_and_second_accept_is_refused(
    harness: Harness, bot: Bot
) -> None:
    await bot.add_technician(TECH, name=TECH_NAME)
    await bot.add_technician(TECH_2, name=TECH_2_NAME, phone="+8801912345678", areas=("uttara",))
    customer = harness.user(CUSTOMER)
    _, confirm = await complete_booking(customer)
    accept, _, notice_id = _notice(harness, confirm, TECH)

    for intruder in (harness.user(STRANGER, "Mallory"), harness.user(TECH_2, "Jamal")):
        before = len(harness.api.calls)
        step = await intruder.press(accept, notice_id)
        assert step.chats() == {intruder.user_id}
        assert step.seq(intruder.user_id) == ["answerCallbackQuery", "sendMessage"]
        assert "This job was not offered to you." in step.texts(intruder.user_id)[0]
        assert harness.api.calls[before:] == step.calls
    # The offer still stands: buttons on the notice, nothing sent to customer or technician.
    assert inline_data_of_message(harness.api, TECH, notice_id) == [
        accept,
        accept.replace(":acc:", ":dec:"),
    ]
    mine = await customer.say("/myorders")
    assert "looking for a technician" in mine.texts(CUSTOMER)[0]

    technician = harness.user(TECH, "Karim")
    first = await technician.press(accept, notice_id)
    assert "editMessageText" in first.seq(TECH)
    assert len(first.sends(CUSTOMER)) == 1

    again = await technician.press(accept, notice_id)
    assert again.chats() == {TECH}
    assert again.seq(TECH) == ["answerCallbackQuery", "sendMessage"]
    assert "You already have this job" in again.texts(TECH)[0]

    decline_late = await technician.press(accept.replace(":acc:", ":dec:"), notice_id)
    assert decline_late.chats() == {TECH}
    assert "You already have this job" in decline_late.texts(TECH)[0]

    mine = await customer.say("/myorders")
    assert "technician assigned" in mine.texts(CUSTOMER)[0]
    harness.assert_every_press_answered()
    assert_all_ok(harness.api)


def inline_data_of_message(api: FakeBotApi, chat: int, message_id: int) -> list[str]:
    message = api.message(chat, message_id) or {}
    markup = message.get("reply_markup") or {}
    return [b["callback_data"] for row in markup.get("inline_keyboard", ()) for b in row]


def _notice(harness: Harness, step: Step, technician: int) -> tuple[str, str, int]:
    notices = [call for call in step.sends(technician) if inline_data(call)]
    assert len(notices) == 1, step.calls
    accept, decline = inline_data(notices[0])
    return accept, decline, message_with_button(harness.api, technician, accept)


async def test_decline_moves_the_offer_on_then_the_team_is_told(
    harness: Harness, bot: Bot
) -> None:
    await bot.add_technician(TECH, name=TECH_NAME)
    await bot.add_technician(TECH_2, name=TECH_2_NAME, phone="+8801912345678")
    # A technician of another service must never be offered a plumbing job.
    await bot.add_technician(9_001_003, name="Electric Eel", services=("electrical",))
    customer = harness.user(CUSTOMER)
    reference, confirm = await complete_booking(customer)
    offered = [chat for chat in (TECH, TECH_2) if confirm.to(chat)]
    assert offered == [TECH]  # fewest open jobs, then the earliest registered
    accept, decline, notice_id = _notice(harness, confirm, TECH)

    declined = await harness.user(TECH, "Karim").press(decline, notice_id)
    assert declined.seq(TECH) == ["answerCallbackQuery", "editMessageText"]
    assert declined.to(TECH)[0].params["message_id"] == notice_id
    assert "reply_markup" not in declined.to(TECH)[0].params
    assert "You declined this job." in text_of(declined.to(TECH)[0])
    assert declined.chats() == {TECH, TECH_2}
    assert declined.seq(TECH_2) == ["sendMessage"]
    accept_2, decline_2, notice_2 = _notice(harness, declined, TECH_2)
    assert accept_2 != accept
    assert reference in text_of(declined.to(TECH_2)[0])
    assert CUSTOMER_NAME not in text_of(declined.to(TECH_2)[0])
    assert not has_number(text_of(declined.to(TECH_2)[0]), CUSTOMER_PHONE)

    # The first technician's old Accept no longer works.
    late = await harness.user(TECH, "Karim").press(accept, notice_id)
    assert late.texts(TECH)[0] == "You declined this job."
    assert late.chats() == {TECH}

    # The second declines too: nobody is left, the customer and the operators hear of it.
    last = await harness.user(TECH_2, "Jamal").press(decline_2, notice_2)
    assert last.chats() == {TECH_2, CUSTOMER, ADMIN_CHAT}
    assert last.seq(CUSTOMER) == ["sendMessage"]
    told = last.texts(CUSTOMER)[0]
    assert reference in told
    assert "Our team will call you" in told
    assert last.seq(ADMIN_CHAT) == ["sendMessage"]
    admin = last.texts(ADMIN_CHAT)[0]
    assert reference in admin
    assert "No technician took this job" in admin
    assert has_number(admin, CUSTOMER_PHONE)  # the operators need the contact to call
    assert not any(call.params.get("chat_id") == 9_001_003 for call in harness.api.calls)

    mine = await customer.say("/myorders")
    assert "our team will call you" in mine.texts(CUSTOMER)[0]
    harness.assert_every_press_answered()
    assert_all_ok(harness.api)


@pytest.mark.parametrize("lang", ["en", "bn"])
async def test_no_matching_technician_tells_customer_and_admin(
    harness: Harness, bot: Bot, lang: str
) -> None:
    await bot.add_technician(TECH, services=("electrical",))  # wrong service
    await bot.add_technician(TECH_2, areas=("uttara",))  # wrong area
    customer = harness.user(CUSTOMER, CUSTOMER_NAME, lang)
    reference, confirm = await complete_booking(customer)
    assert confirm.chats() == {CUSTOMER, ADMIN_CHAT}
    assert confirm.seq(CUSTOMER) == ["answerCallbackQuery", "sendMessage", "sendMessage"]
    confirmed, told = confirm.texts(CUSTOMER)
    assert reference in confirmed and reference in told
    if lang == "en":
        assert "Our team will call you soon" in told
    assert confirm.seq(ADMIN_CHAT) == ["sendMessage"]
    admin = confirm.texts(ADMIN_CHAT)[0]
    assert reference in admin
    assert "No technician took this job" in admin  # the operators' copy is always English
    assert has_number(admin, CUSTOMER_PHONE)
    assert ADDRESS in admin
    assert_all_ok(harness.api)


# ------------------------------------------------------------------- returning customers


@pytest.mark.parametrize("lang", ["en", "bn"])
async def test_returning_customer_is_offered_saved_number_and_address(
    harness: Harness, bot: Bot, lang: str
) -> None:
    await bot.add_technician(TECH)
    customer = harness.user(CUSTOMER, CUSTOMER_NAME, lang)
    first_reference, _ = await complete_booking(customer)

    # Consent was given already: /book goes straight to the service question.
    book = await customer.say("/book")
    assert book.seq(CUSTOMER) == ["sendMessage"]
    assert inline_data(book.sends(CUSTOMER)[0])[0] == "bk:service:house-shifting"
    await customer.press("bk:service:plumbing")
    await customer.press("bk:problem:skip")
    area = await customer.press("bk:area:mirpur")
    assert area.seq(CUSTOMER) == ["answerCallbackQuery", "sendMessage", "sendMessage"]
    address_prompt, saved_address = area.sends(CUSTOMER)
    assert reply_keys(address_prompt)[0].get("request_location") is True
    assert inline_data(saved_address) == ["bk:address:saved"]
    assert ADDRESS in text_of(saved_address)

    use_address = await customer.press("bk:address:saved")
    assert use_address.seq(CUSTOMER) == ["answerCallbackQuery", "sendMessage", "sendMessage"]
    phone_prompt, saved_phone = use_address.sends(CUSTOMER)
    assert reply_keys(phone_prompt)[0].get("request_contact") is True
    assert inline_data(saved_phone) == ["bk:phone:saved"]
    label = saved_phone.params["reply_markup"]["inline_keyboard"][0][0]["text"]
    masked = localize_digits("017••••5678", lang)
    if lang == "en":
        assert label == "✅ Use 017••••5678"
    else:
        assert masked in label
    assert CUSTOMER_PHONE not in str(saved_phone.params)
    assert localize_digits(CUSTOMER_PHONE, "bn") not in str(saved_phone.params)

    use_phone = await customer.press("bk:phone:saved")
    assert use_phone.seq(CUSTOMER) == ["answerCallbackQuery", "sendMessage"]
    assert reply_keys(use_phone.sends(CUSTOMER)[0])[0] == {"text": CUSTOMER_NAME}

    await customer.say(CUSTOMER_NAME)
    await customer.press(only_time_buttons(customer.last_prompt())[0])
    confirm = await customer.press("bk:summary:confirm")
    second = REFERENCE_RE.search(" ".join(confirm.texts(CUSTOMER)))
    assert second is not None and second.group(0) != first_reference

    mine = await customer.say("/myorders")
    assert mine.seq(CUSTOMER) == ["sendMessage"]
    listing = mine.texts(CUSTOMER)[0]
    assert first_reference in listing and second.group(0) in listing
    harness.assert_every_press_answered()
    assert_all_ok(harness.api)


async def test_a_saved_address_is_offered_only_for_its_own_area(
    harness: Harness, bot: Bot
) -> None:
    await bot.add_technician(TECH)
    customer = harness.user(CUSTOMER, CUSTOMER_NAME, "en")
    await complete_booking(customer)  # booked in Mirpur: the address is saved with it
    await customer.say("/book")
    await customer.press("bk:service:plumbing")
    await customer.press("bk:problem:skip")
    elsewhere = await customer.press("bk:area:dhanmondi")
    # A Dhanmondi job: the address prompt alone, no Mirpur address to tap.
    assert elsewhere.seq(CUSTOMER) == ["answerCallbackQuery", "sendMessage"]
    assert ADDRESS not in " ".join(elsewhere.texts(CUSTOMER))
    # Back to the area and Mirpur again: now the Mirpur address is offered.
    await customer.say("◀ Back")
    same = await customer.press("bk:area:mirpur")
    assert inline_data(same.sends(CUSTOMER)[-1]) == ["bk:address:saved"]
    assert ADDRESS in text_of(same.sends(CUSTOMER)[-1])
    harness.assert_every_press_answered()
    assert_all_ok(harness.api)


# -------------------------------------------------------------------------- commands


@pytest.mark.parametrize("lang", ["en", "bn"])
async def test_myorders_lists_the_reference(harness: Harness, bot: Bot, lang: str) -> None:
    customer = harness.user(CUSTOMER, CUSTOMER_NAME, lang)
    empty = await customer.say("/myorders")
    assert empty.seq(CUSTOMER) == ["sendMessage"]
    assert not REFERENCE_RE.search(empty.texts(CUSTOMER)[0])
    await bot.add_technician(TECH)
    reference, _ = await complete_booking(customer)
    mine = await customer.say("/myorders")
    assert mine.seq(CUSTOMER) == ["sendMessage"]
    assert reference in mine.texts(CUSTOMER)[0]
    # Another customer sees none of it.
    other = await harness.user(CUSTOMER + 1, "Sumi", lang).say("/myorders")
    assert reference not in other.texts(CUSTOMER + 1)[0]
    assert_all_ok(harness.api)


@pytest.mark.parametrize("lang", ["en", "bn"])
async def test_privacy_sends_several_messages_within_telegram_limits(
    harness: Harness, lang: str
) -> None:
    step = await harness.user(CUSTOMER, CUSTOMER_NAME, lang).say("/privacy")
    sends = step.sends(CUSTOMER)
    assert len(sends) >= 3  # summary, Bengali original, English translation
    assert step.seq(CUSTOMER) == ["sendMessage"] * len(sends)
    for call in sends:
        text = text_of(call)
        assert 0 < len(text) <= 4096
        assert len(text.encode("utf-16-le")) // 2 <= 4096
    whole = "\n".join(text_of(call) for call in sends)
    assert "help@mistri.services" in whole
    assert "+8809612345678" in whole
    if lang == "en":
        assert "English translation; the Bengali original above is authoritative." in whole
    assert_all_ok(harness.api)


async def test_privacy_in_the_middle_of_a_booking_resumes_the_step(harness: Harness) -> None:
    customer = harness.user(CUSTOMER)
    await book_until(customer, "phone")
    step = await customer.say("/privacy")
    assert len(step.sends(CUSTOMER)) >= 4
    assert reply_keys(step.sends(CUSTOMER)[-1])[0].get("request_contact") is True
    # ... and the booking goes on where it was.
    phone = await customer.say(CUSTOMER_PHONE)
    assert reply_keys(phone.sends(CUSTOMER)[-1])[0] == {"text": CUSTOMER_NAME}
    assert_all_ok(harness.api)


@pytest.mark.parametrize("lang", ["en", "bn"])
async def test_help_lists_commands_and_contacts(harness: Harness, lang: str) -> None:
    step = await harness.user(CUSTOMER, CUSTOMER_NAME, lang).say("/help")
    assert step.seq(CUSTOMER) == ["sendMessage"]
    text = step.texts(CUSTOMER)[0]
    for command in ("/book", "/myorders", "/cancel", "/mydata", "/deleteme", "/privacy"):
        assert command in text
    assert "/language" in text and "/jobs" in text
    assert "help@mistri.services" in text
    assert has_number(text, "+8809612345678")
    if lang == "en":
        assert "What I can do" in text
    assert_all_ok(harness.api)


async def test_language_switch_applies_to_later_prompts(harness: Harness) -> None:
    # The Telegram client says English; the person picks Bengali, then English again.
    customer = harness.user(CUSTOMER, CUSTOMER_NAME, "en")
    menu = await customer.say("/language")
    assert menu.seq(CUSTOMER) == ["sendMessage"]
    assert inline_data(menu.sends(CUSTOMER)[0]) == ["lang:bn", "lang:en"]
    labels = [
        b["text"] for b in menu.sends(CUSTOMER)[0].params["reply_markup"]["inline_keyboard"][0]
    ]
    assert labels == ["বাংলা", "✓ English"]

    to_bn = await customer.press("lang:bn")
    assert to_bn.seq(CUSTOMER) == ["answerCallbackQuery", "sendMessage"]
    assert to_bn.answers[0].params.get("text") == "বাংলা"

    # Later prompts follow Bengali even though language_code is still "en".
    menu_again = await customer.say("/language")
    labels = [
        b["text"]
        for b in menu_again.sends(CUSTOMER)[0].params["reply_markup"]["inline_keyboard"][0]
    ]
    assert labels == ["✓ বাংলা", "English"]
    steps = await book_until(customer, "area")
    service_prompt = steps["consent"].sends(CUSTOMER)[0]
    assert "১" in text_of(service_prompt) and "Step 1 of 7" not in text_of(service_prompt)
    area_prompt = steps["problem"].sends(CUSTOMER)[0]
    first_area = area_prompt.params["reply_markup"]["inline_keyboard"][0][0]
    assert first_area == {"text": "মিরপুর", "callback_data": "bk:area:mirpur"}
    start = await customer.say("/start")
    assert inline_data(start.sends(CUSTOMER)[0])[1] == "lang:en"  # offers the other one

    # Switching in the middle of the booking re-asks the current step in the new language.
    to_en = await customer.press("lang:en")
    assert to_en.seq(CUSTOMER) == ["answerCallbackQuery", "sendMessage", "sendMessage"]
    assert to_en.answers[0].params.get("text") == "English"
    confirmation, area_again = to_en.sends(CUSTOMER)
    assert text_of(confirmation) == "Language set to English."
    assert text_of(area_again).startswith("Step 3 of 7")
    first_area = area_again.params["reply_markup"]["inline_keyboard"][0][0]
    assert first_area == {"text": "Mirpur", "callback_data": "bk:area:mirpur"}
    area = await customer.press("bk:area:mirpur")
    assert "What is the full address?" in area.texts(CUSTOMER)[0]
    assert_all_ok(harness.api)


async def test_bengali_client_gets_bengali_structure(harness: Harness) -> None:
    customer = harness.user(CUSTOMER, CUSTOMER_NAME, "bn")
    steps = await book_until(customer, "problem")
    assert "১" in text_of(steps["consent"].sends(CUSTOMER)[0])  # "Step ১ of ৬"-style digits
    start = await customer.say("/start")
    assert inline_data(start.sends(CUSTOMER)[0])[1] == "lang:en"


# ----------------------------------------------------------------------------- bad input

STEP_SIGNATURES = {
    "idle": lambda call: inline_data(call) == ["go:book"],
    "consent": lambda call: inline_data(call)[:1] == ["bk:consent:yes"],
    "service": lambda call: inline_data(call)[:1] == ["bk:service:house-shifting"],
    "problem": lambda call: inline_data(call) == ["bk:problem:skip", "bk:problem:back"],
    "area": lambda call: inline_data(call)[:1] == ["bk:area:mirpur"],
    "address": lambda call: (
        reply_keys(call)[:1] == [{"text": "📍 Share location", "request_location": True}]
    ),
    "phone": lambda call: (
        reply_keys(call)[:1] == [{"text": "📱 Share my number", "request_contact": True}]
    ),
    "name": lambda call: reply_keys(call)[:1] == [{"text": CUSTOMER_NAME}],
    "time": lambda call: (
        inline_data(call)[:1] != [] and inline_data(call)[0].startswith("bk:time:")
    ),
    "summary": lambda call: inline_data(call)[:1] == ["bk:summary:confirm"],
}
# Steps where typed text is an answer: there HTML is accepted (escaped), not refused.
TEXT_STEPS = {"problem", "address", "name"}
LONG_TEXT = "Lorem ipsum dolor sit amet. " * 179  # 5,012 characters
HTML_TEXT = '<script>alert("x")</script> <b>bold</b> & <i>'


async def reach(person: Person, step: str) -> None:
    """Bring ``person`` to ``step`` of the booking (or leave them idle)."""
    if step != "idle":
        await book_until(person, step)


def assert_reprompt(step: Step, person: Person, where: str) -> None:
    """One update, one helpful answer: at least one message to the sender, nothing else."""
    chat = person.user_id
    assert step.chats() == {chat}, step.calls
    sends = step.sends(chat)
    assert sends, "the sender got no answer"
    assert all(call.status == 200 for call in step.calls), step.calls
    assert not any(APOLOGY in text_of(call) for call in step.calls)
    assert len(step.answers) == (1 if step.query_id else 0)
    # The last keyboard-bearing message asks the same step again.
    prompts = [call for call in sends if call.params.get("reply_markup")]
    if where != "idle" or prompts:
        assert prompts, f"{where}: the step was not asked again: {[text_of(c) for c in sends]}"
        assert STEP_SIGNATURES[where](prompts[-1]), (where, prompts[-1].params)
    # A hint is not an echo: nothing of the bad input comes back unescaped.
    for call in sends:
        assert "<script>" not in text_of(call)
        assert "Lorem ipsum" not in text_of(call)


@pytest.mark.parametrize("where", list(STEP_SIGNATURES))
async def test_bad_input_gets_a_reprompt_and_keeps_the_step(
    harness: Harness, where: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    customer = harness.user(CUSTOMER)
    await reach(customer, where)
    # A button from the oldest message of the chat that is not for this step.
    stale_data = "bk:consent:yes" if where not in ("idle", "consent") else "bk:area:mirpur"

    attempts: list[tuple[str, Any]] = [
        ("sticker", customer.sticker),
        ("photo", customer.photo),
        ("voice", customer.voice),
        ("long text", lambda: customer.say(LONG_TEXT)),
        ("unknown command", lambda: customer.say("/foo")),
        ("unknown command with HTML", lambda: customer.say("/foo<b>")),
        ("stale button", lambda: _press_stale(customer, stale_data)),
        ("garbage button", lambda: customer.press("bk:nope", 1)),
    ]
    if where not in TEXT_STEPS:
        attempts.append(("HTML text", lambda: customer.say(HTML_TEXT)))
    if where not in ("address",):
        attempts.append(("location", customer.share_location))
    if where not in ("phone",):
        attempts.append(("contact", customer.share_contact))
    for label, send in attempts:
        step = await send()
        try:
            assert_reprompt(step, customer, where)
        except AssertionError as error:
            raise AssertionError(f"{label} at {where}: {error}") from error
    # A job button pressed by someone who is no technician: told so, the booking's question
    # is asked again, and nobody else hears.
    step = await customer.press("job:acc:999", 1)
    methods = step.seq(CUSTOMER)
    assert methods[:2] == ["answerCallbackQuery", "sendMessage"]
    if where == "idle":
        assert methods == ["answerCallbackQuery", "sendMessage"]
    else:
        assert len(methods) >= 3 and set(methods[2:]) == {"sendMessage"}
    assert step.texts(CUSTOMER)[0] == "This job was not offered to you."
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    harness.assert_every_press_answered()
    assert_all_ok(harness.api)


async def _press_stale(person: Person, data: str) -> Step:
    """Press ``data`` on the oldest message that offered it (or on one the fake never sent)."""
    ids = [
        message["message_id"]
        for message in bot_messages(person.api, person.user_id)
        if data in inline_data_of_message(person.api, person.user_id, message["message_id"])
    ]
    return await person.press(data, ids[0] if ids else 1)


@pytest.mark.parametrize("where", sorted(TEXT_STEPS))
async def test_html_in_typed_answers_is_escaped(harness: Harness, where: str) -> None:
    customer = harness.user(CUSTOMER)
    await reach(customer, where)
    text = 'Mia <b>"&amp;"</b> <script>'
    step = await customer.say(text)
    assert step.chats() == {CUSTOMER}
    assert step.sends(CUSTOMER)
    echoed = " ".join(step.texts(CUSTOMER))
    assert "<script>" not in echoed
    assert_all_ok(harness.api)


@pytest.mark.parametrize(
    ("where", "answer"),
    [
        ("problem", "x" * 501),
        ("address", "House " + "x" * 300),
        ("address", "12"),
        ("phone", "01112345678"),
        ("phone", "+44 7911 123456"),
        ("phone", "1" * 60),
        ("name", "N" * 65),
        ("name", "12345"),
    ],
)
async def test_invalid_typed_answers_are_asked_again(
    harness: Harness, where: str, answer: str
) -> None:
    customer = harness.user(CUSTOMER)
    await reach(customer, where)
    step = await customer.say(answer)
    assert_reprompt_of_text(step, customer, where)
    assert_all_ok(harness.api)


def assert_reprompt_of_text(step: Step, person: Person, where: str) -> None:
    assert step.chats() == {person.user_id}
    sends = step.sends(person.user_id)
    assert len(sends) >= 2  # a hint, then the question again
    prompts = [call for call in sends if call.params.get("reply_markup")]
    assert STEP_SIGNATURES[where](prompts[-1])


async def test_someone_elses_contact_is_refused(harness: Harness) -> None:
    customer = harness.user(CUSTOMER)
    await reach(customer, "phone")
    step = await customer.share_contact("+8801812345678", owner=TECH)
    assert_reprompt_of_text(step, customer, "phone")
    step = await customer.share_contact("+8801812345678", owner=None)
    assert_reprompt_of_text(step, customer, "phone")
    assert_all_ok(harness.api)


async def test_leaving_keyboard_steps_removes_the_keyboard(harness: Harness) -> None:
    customer = harness.user(CUSTOMER)
    await reach(customer, "address")
    # The keyboard's Back (typed text) from the address step goes to the area buttons.
    back = await customer.say("◀ Back")
    first, area, kept = back.sends(CUSTOMER)
    assert removes_keyboard(first)
    assert STEP_SIGNATURES["area"](area)
    assert inline_data(kept) == ["bk:area:keep"]  # the area chosen before, kept with a tap
    await customer.press("bk:area:mirpur")
    # /cancel in a keyboard step removes it too.
    cancel = await customer.say("/cancel")
    assert cancel.seq(CUSTOMER) == ["sendMessage"]
    assert removes_keyboard(cancel.sends(CUSTOMER)[0])
    assert "Booking cancelled" in cancel.texts(CUSTOMER)[0]
    # After /cancel the booking starts afresh (consent was given: service question).
    book = await customer.say("/book")
    assert STEP_SIGNATURES["service"](book.sends(CUSTOMER)[-1])
    assert_all_ok(harness.api)


async def test_commands_mid_booking_do_not_lose_it(harness: Harness) -> None:
    customer = harness.user(CUSTOMER)
    await reach(customer, "name")
    for command in ("/help", "/myorders", "/start", "/book"):
        step = await customer.say(command)
        assert STEP_SIGNATURES["name"](step.sends(CUSTOMER)[-1]), command
    step = await customer.say(CUSTOMER_NAME)
    assert removes_keyboard(step.sends(CUSTOMER)[0])
    assert STEP_SIGNATURES["time"](step.sends(CUSTOMER)[-1])
    assert_all_ok(harness.api)


async def test_area_pages_edit_the_list_in_place(harness: Harness) -> None:
    customer = harness.user(CUSTOMER)
    await reach(customer, "area")
    list_id = message_with_button(harness.api, CUSTOMER, "bk:area:mirpur")
    more = await customer.press("bk:area:page:1", list_id)
    assert more.seq(CUSTOMER) == ["answerCallbackQuery", "editMessageText"]
    assert more.to(CUSTOMER)[0].params["message_id"] == list_id
    page_two = inline_data(more.to(CUSTOMER)[0])
    assert "bk:area:mirpur" not in page_two and "bk:area:page:0" in page_two
    assert_all_ok(harness.api)


async def test_jobs_is_for_technicians(harness: Harness, bot: Bot) -> None:
    step = await harness.user(STRANGER, "Mallory").say("/jobs")
    assert step.seq(STRANGER) == ["sendMessage"]
    assert "/jobs is for registered technicians." in step.texts(STRANGER)[0]
    await bot.add_technician(TECH)
    reference, confirm = await complete_booking(harness.user(CUSTOMER))
    technician = harness.user(TECH, "Karim")
    before = await technician.say("/jobs")
    assert reference not in before.texts(TECH)[0]  # offered, not accepted: no contact yet
    accept, _, notice_id = _notice(harness, confirm, TECH)
    await technician.press(accept, notice_id)
    after = await technician.say("/jobs")
    assert reference in after.texts(TECH)[0]
    assert has_number(after.texts(TECH)[0], CUSTOMER_PHONE)
    assert_all_ok(harness.api)


async def test_summary_of_long_answers_full_of_markup_characters(harness: Harness) -> None:
    """Regression: escaped answers once made the summary exceed Outbound's 4,096 limit."""
    customer = harness.user(CUSTOMER)
    await reach(customer, "problem")
    await customer.say("&" * 500)  # the longest problem allowed
    await customer.press("bk:area:mirpur")
    await customer.say("a" + "&" * 299)  # the longest address allowed
    await customer.share_contact()
    await customer.say("a" + "&" * 63)  # the longest name allowed
    step = await customer.press(only_time_buttons(customer.last_prompt())[0])
    # Escaped, these answers are over 4,096 characters: the summary must still go out.
    assert not any(APOLOGY in text for text in step.texts(CUSTOMER))
    assert STEP_SIGNATURES["summary"](step.sends(CUSTOMER)[-1])
    # No technician: the operators' copy (problem, address and name) must fit as well.
    confirm = await customer.press("bk:summary:confirm")
    assert not any(APOLOGY in text for text in confirm.texts(CUSTOMER))
    assert confirm.seq(ADMIN_CHAT) == ["sendMessage"]
    assert_all_ok(harness.api)


async def test_consent_can_show_the_policy_or_be_refused(harness: Harness) -> None:
    customer = harness.user(CUSTOMER)
    await reach(customer, "consent")
    policy = await customer.press("bk:consent:policy")
    sends = policy.sends(CUSTOMER)
    assert len(sends) >= 4  # summary, policy in Bengali and English, the question again
    assert all(len(text_of(call)) <= 4096 for call in sends)
    assert STEP_SIGNATURES["consent"](sends[-1])
    refused = await customer.press("bk:consent:no")
    assert refused.seq(CUSTOMER) == ["answerCallbackQuery", "sendMessage"]
    assert "we saved nothing" in refused.texts(CUSTOMER)[0]
    # Refusing leaves the booking: a later text gets the idle hint, /book asks consent again.
    idle = await customer.say("hello")
    assert STEP_SIGNATURES["idle"](idle.sends(CUSTOMER)[-1])
    again = await customer.say("/book")
    assert STEP_SIGNATURES["consent"](again.sends(CUSTOMER)[-1])
    harness.assert_every_press_answered()
    assert_all_ok(harness.api)


async def test_editing_a_keyboard_step_from_the_summary(harness: Harness) -> None:
    customer = harness.user(CUSTOMER)
    await reach(customer, "summary")
    menu = await customer.press("bk:summary:edit")
    assert menu.seq(CUSTOMER) == ["answerCallbackQuery", "sendMessage"]
    assert "bk:summary:edit:phone" in inline_data(menu.sends(CUSTOMER)[0])
    pick = await customer.press("bk:summary:edit:phone")
    assert STEP_SIGNATURES["phone"](pick.sends(CUSTOMER)[-2])
    assert inline_data(pick.sends(CUSTOMER)[-1]) == ["bk:phone:keep"]
    typed = await customer.say("01812 345678")
    ack, summary = typed.sends(CUSTOMER)
    assert removes_keyboard(ack)  # back to the summary, which has no reply keyboard
    assert "01812345678" in text_of(ack)
    assert STEP_SIGNATURES["summary"](summary)
    assert "01812345678" in text_of(summary)
    harness.assert_every_press_answered()
    assert_all_ok(harness.api)


async def test_a_technician_who_blocked_the_bot_is_skipped(harness: Harness, bot: Bot) -> None:
    await bot.add_technician(TECH, name=TECH_NAME)
    await bot.add_technician(TECH_2, name=TECH_2_NAME, phone="+8801912345678")
    harness.api.fail_next(TECH, 403, "Forbidden: bot was blocked by the user")
    reference, confirm = await complete_booking(harness.user(CUSTOMER))
    blocked = [call for call in confirm.calls if call.params.get("chat_id") == TECH]
    assert [call.status for call in blocked] == [403]
    assert confirm.seq(TECH_2) == ["sendMessage"]
    assert reference in text_of(confirm.sends(TECH_2)[0])
    accept, _, notice_id = _notice(harness, confirm, TECH_2)
    accepted = await harness.user(TECH_2, "Jamal").press(accept, notice_id)
    assert TECH_2_NAME in accepted.texts(CUSTOMER)[0]
    assert [c for c in harness.api.calls if c.status != 200] == blocked
