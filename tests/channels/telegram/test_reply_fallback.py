"""A burst of 429s never drops a reply: it arrives, in order, after the wait Telegram named."""

from __future__ import annotations

import asyncio

from telegram import Update

from channels.telegram.fake_api import FakeBotApi, OfflineRequest
from service.config import Settings
from service.runtime import start
from tests.conftest import TOKEN

CUSTOMER = 5_001_001


async def test_six_429s_in_a_row_delay_the_answers_but_lose_none(settings: Settings) -> None:
    api = FakeBotApi()
    # With the rate limiter of `run` (three retries of its own), as production sends.
    runtime = await start(settings, token=TOKEN, request=OfflineRequest(api), rate_limit=True)
    try:
        api.fail_next(CUSTOMER, 429, "Too Many Requests: retry after {retry_after}", 1, times=6)
        await runtime.process(Update.de_json(api.text_update(CUSTOMER, "/start"), runtime.bot))
        # The conversation moves on meanwhile: the next answer must not overtake the first.
        await runtime.process(Update.de_json(api.text_update(CUSTOMER, "/help"), runtime.bot))
        for _ in range(300):  # the delivery worker sends them once the waits are over
            if len(api.texts(CUSTOMER)) == 2:
                break
            await asyncio.sleep(0.1)
        welcome, help_text = api.texts(CUSTOMER)
        assert "/myorders" in help_text and "/myorders" not in welcome  # in their order
        refused = [call for call in api.calls if call.status == 429]
        assert len(refused) == 6
    finally:
        await runtime.close()
