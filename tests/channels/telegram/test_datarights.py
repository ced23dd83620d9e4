"""/mydata shows what is held; /deleteme erases it, and a second /deleteme finds nothing."""

from datetime import UTC, datetime

from sqlalchemy import text

from tests.conftest import Bot

CUSTOMER = 3001


async def book(bot: Bot) -> None:
    api = bot.api

    async def tap(prefix: str) -> None:
        for call in reversed(api.sent_to(CUSTOMER)):
            for row in (call.params.get("reply_markup") or {}).get("inline_keyboard", []):
                for button in row:
                    if button["callback_data"].startswith(prefix):
                        await bot.send(
                            api.callback_update(
                                CUSTOMER,
                                button["callback_data"],
                                call.params.get("message_id", 1),
                                "Rahim",
                                "en",
                            )
                        )
                        return
        raise AssertionError(f"no button {prefix}")

    async def say(words: str) -> None:
        await bot.send(api.text_update(CUSTOMER, words, "Rahim", "en"))

    await say("/book")
    await tap("bk:consent:yes")
    await tap("bk:service:plumbing")
    await say("Leaking tap Qwzx")
    await tap("bk:area:mirpur")
    await say("House 77, Road Plqk, Mirpur")
    await say("01712345678")
    await say("Rahim Zorbek")
    await tap("bk:time:")
    await tap("bk:summary:confirm")


async def test_mydata_shows_details_then_deleteme_erases_everything(bot: Bot) -> None:
    await bot.add_technician(9100)
    await book(bot)
    await bot.send(bot.api.text_update(CUSTOMER, "/mydata", "Rahim", "en"))
    shown = bot.api.texts(CUSTOMER)[-1]
    assert "Rahim Zorbek" in shown and "01712345678" in shown and "Road Plqk" in shown
    assert "MS-" in shown

    await bot.send(bot.api.text_update(CUSTOMER, "/deleteme", "Rahim", "en"))
    ask = bot.api.last_message(CUSTOMER)
    assert ask is not None
    buttons = [
        b["callback_data"] for row in ask.params["reply_markup"]["inline_keyboard"] for b in row
    ]
    assert buttons == ["dr:delete:yes", "dr:delete:no"]
    await bot.send(
        bot.api.callback_update(
            CUSTOMER, "dr:delete:yes", ask.params.get("message_id", 1), "Rahim", "en"
        )
    )
    assert "erased" in bot.api.texts(CUSTOMER)[-1]

    async with bot.runtime.engine.connect() as connection:
        customers = (await connection.execute(text("select count(*) from customers"))).scalar()
        sessions = (
            await connection.execute(
                text(
                    "select count(*) from conversation_sessions"
                    " where channel = 'telegram' and person_id = :u"
                ),
                {"u": str(CUSTOMER)},
            )
        ).scalar()
        personal = (
            await connection.execute(
                text(
                    "select count(*) from orders where name is not null or phone is not null"
                    " or address is not null or problem is not null or customer_id is not null"
                )
            )
        ).scalar()
        status = (await connection.execute(text("select status from orders"))).scalar()
    assert (customers, sessions, personal) == (0, 0, 0)
    assert status == "assigned" or status == "cancelled"

    await bot.send(bot.api.text_update(CUSTOMER, "/deleteme", "Rahim", "en"))
    last = bot.api.last_message(CUSTOMER)
    assert last is not None
    await bot.send(
        bot.api.callback_update(
            CUSTOMER, "dr:delete:yes", last.params.get("message_id", 1), "Rahim", "en"
        )
    )
    assert "no personal data" in bot.api.texts(CUSTOMER)[-1]
    _ = datetime.now(UTC)


async def test_keep_my_data_erases_nothing(bot: Bot) -> None:
    await bot.send(bot.api.text_update(CUSTOMER, "/deleteme", "Rahim", "en"))
    ask = bot.api.last_message(CUSTOMER)
    assert ask is not None
    await bot.send(
        bot.api.callback_update(
            CUSTOMER, "dr:delete:no", ask.params.get("message_id", 1), "Rahim", "en"
        )
    )
    assert "Nothing was erased" in bot.api.texts(CUSTOMER)[-1]
