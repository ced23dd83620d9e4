"""``mistri-bot demo --channel whatsapp``: Rahim books on WhatsApp; the others stay on Telegram.

What Rahim types or taps becomes the webhook body Meta would post (``channels/whatsapp/
fake_api/webhooks.py``), signed with the demo's app secret and posted to ``serve``'s own app
(in process, through httpx's ASGI transport): the signature is checked, the update stored in
the inbox before the 200, handled from there by the core, and the answer goes out through the
outbox and the WhatsApp channel to the fake Graph API, whose record the terminal prints as
WhatsApp shows it (``service/demo/screen.py``). Technicians and operators are on Telegram, as
in the Telegram demo: a job booked on WhatsApp reaches a technician on Telegram.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
from pydantic import SecretStr

from channels.telegram.fake_api import FakeBotApi, OfflineRequest
from channels.whatsapp.channel import WhatsAppChannel
from channels.whatsapp.fake_api import FakeGraphApi, Webhooks, signed
from channels.whatsapp.inbound import CHANNEL as WHATSAPP
from service.config import Settings
from service.demo.cast import CUSTOMER, CUSTOMER_PHONE, DEMO_TOKEN, DHAKA, Person
from service.demo.chat import DemoChat
from service.demo.screen import SplitTerminal, WhatsAppScreen
from service.demo.terminal import Choice
from service.intake import Intake
from service.runtime import Runtime, start
from service.serve import Served, build_app, whatsapp_reader

#: Rahim's WhatsApp id: his number, digits only (WhatsApp knows it; the bot offers it).
WA_ID = CUSTOMER_PHONE.lstrip("+")
#: The demo's own WhatsApp configuration: the fake Graph API answers it, nothing leaves.
WHATSAPP_SETTINGS: dict[str, Any] = {
    "whatsapp_token": SecretStr("demo-token-not-real"),
    "whatsapp_phone_number_id": "100200300",
    "whatsapp_app_secret": SecretStr("demo-app-secret-not-real"),
    "whatsapp_verify_token": SecretStr("demo-verify-token-not-real"),
    "whatsapp_api_url": "https://graph.demo.invalid/v21.0",
}


class WhatsAppDemoChat(DemoChat):
    """Rahim's lines go to ``serve`` as signed webhooks; everyone else's to Telegram."""

    def __init__(
        self,
        runtime: Runtime,
        api: FakeBotApi,
        terminal: SplitTerminal,
        lang: str,
        *,
        served: Served,
        client: httpx.AsyncClient,
        graph: FakeGraphApi,
        app_secret: str,
    ) -> None:
        super().__init__(runtime, api, terminal, lang)
        self.served = served
        self.client = client
        self.graph = graph
        self.hooks = Webhooks(graph)
        self.screen = terminal.whatsapp
        self._app_secret = app_secret
        #: Status of every webhook post (all 200 when the signature and the inbox held).
        self.statuses: list[int] = []

    async def settle(self) -> None:
        """Wait until what was stored is handled and every answer sent, then print."""
        await self.served.intake.drain()
        await self.runtime.settle()
        self.terminal.show_new()

    async def send(self, update: dict[str, Any]) -> None:
        """A Telegram update (the technicians', the operators'), then what it set off."""
        await self.runtime.process(self._telegram(update))
        await self.settle()

    def _telegram(self, update: dict[str, Any]) -> Any:
        from telegram import Update

        return Update.de_json(update, self.runtime.bot)

    async def post(self, body: dict[str, Any]) -> None:
        """Post ``body`` to ``/whatsapp`` signed as Meta signs it, then show the answers."""
        raw, header = signed(body, self._app_secret)
        answer = await self.client.post(
            "/whatsapp", content=raw, headers={"X-Hub-Signature-256": header}
        )
        self.statuses.append(answer.status_code)
        await self.settle()

    async def say(self, text: str, person: Person = CUSTOMER, *, echo: bool = True) -> None:
        """``person`` types ``text``: Rahim on WhatsApp, the others on Telegram."""
        if person != CUSTOMER:
            await super().say(text, person, echo=echo)
            return
        if echo:
            self._echo(person, text)
        await self.post(self.hooks.text(WA_ID, text, CUSTOMER.first_name))

    async def tap(self, person: Person, choice: Choice) -> None:
        """``person`` taps: Rahim a reply button, a list row or the location request."""
        if person != CUSTOMER:
            await super().tap(person, choice)
            return
        self._echo(person, f"taps “{choice.label}”")
        context = self.screen.context(choice)
        if choice.request == "location":
            await self.post(self.hooks.location(WA_ID, DHAKA[0], DHAKA[1]))
        elif choice.request == "row":
            await self.post(self.hooks.list_reply(WA_ID, choice.data or "", choice.label, context))
        else:
            await self.post(self.hooks.button(WA_ID, choice.data or "", choice.label, context))


@contextlib.asynccontextmanager
async def whatsapp_chat(
    settings: Settings, api: FakeBotApi, terminal_out: Any, lang: str
) -> AsyncIterator[WhatsAppDemoChat]:
    """Open the runtime with both channels and ``serve``'s app over it; yield the chat."""
    settings = settings.model_copy(update=WHATSAPP_SETTINGS)
    whatsapp = settings.whatsapp()
    assert whatsapp is not None  # configured just above
    graph = FakeGraphApi(
        phone_number_id=whatsapp.phone_number_id, token=whatsapp.token.get_secret_value()
    )
    graph_client = httpx.AsyncClient(transport=graph.transport())
    channel = WhatsAppChannel(
        graph_client,
        token=whatsapp.token.get_secret_value(),
        phone_number_id=whatsapp.phone_number_id,
        api_url=whatsapp.api_url,
    )
    runtime = await start(
        settings,
        token=DEMO_TOKEN,
        request=OfflineRequest(api),
        rate_limit=False,
        channels={WHATSAPP: channel},
    )
    # serve's inbox reader and intake, without the purge of old ids (a throwaway database).
    intake = Intake(runtime.core, {WHATSAPP: whatsapp_reader(runtime)}, purge=False)
    try:
        await intake.start()
        served = Served(runtime, intake, whatsapp)
        app = build_app(lambda: contextlib.nullcontext(served))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://serve.demo") as web:
                screen = WhatsAppScreen(graph, WA_ID, terminal_out)
                terminal = SplitTerminal(api, terminal_out, screen, CUSTOMER.chat)
                yield WhatsAppDemoChat(
                    runtime,
                    api,
                    terminal,
                    lang,
                    served=served,
                    client=web,
                    graph=graph,
                    app_secret=whatsapp.app_secret.get_secret_value(),
                )
    finally:
        await intake.close()
        await runtime.close(grace=0.0)
        await graph_client.aclose()


INTRO = (
    "Customer Rahim (you) on WhatsApp, number 017••••5678: what the bot sends is shown as"
    " WhatsApp shows it (reply buttons [1] [2] [3], lists ≡ with their rows, location"
    " requests); type 1, 2… to tap. Technicians Karim Uddin and Jamal Hossain, applicant"
    " Sumon Mia and the operators' chat (operator Nadia Akter) are on Telegram, beside, each"
    " in its margin.\n"
)

__all__ = ["INTRO", "WA_ID", "WhatsAppDemoChat", "whatsapp_chat"]
