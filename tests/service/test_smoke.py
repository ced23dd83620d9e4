"""A first end-to-end check that the wiring holds: /start answers in the user's language."""

from tests.conftest import Bot


async def test_start_answers_in_english_for_english_users(bot: Bot) -> None:
    await bot.send(bot.api.text_update(1001, "/start", "Rahim", "en-GB"))
    texts = bot.api.texts(1001)
    assert len(texts) == 1
    assert "Welcome to Mistri Services" in texts[0]


async def test_start_answers_in_bengali_for_other_languages(bot: Bot) -> None:
    await bot.send(bot.api.text_update(1002, "/start", "Rahim", "ru"))
    assert "Welcome to Mistri Services" not in bot.api.texts(1002)[0]
