"""``serve``'s app in process: Meta's verification, signed posts, the inbox, the health check.

The app runs through httpx's ASGI transport (no socket) with its lifespan entered, against
the fake Graph API (``channels/whatsapp/fake_api``) as an httpx transport.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from channels.whatsapp.fake_api import FakeGraphApi, Webhooks, signed
from conversations.events import Inbound
from service import intake as intake_module
from service.config import Settings
from service.serve import Served, build_app, opened
from service.webhooks import MAX_BODY

APP_SECRET = "test-app-secret-0123456789"
VERIFY_TOKEN = "test-verify-token"
CUSTOMER = "8801711000001"


@pytest.fixture
def whatsapp_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "whatsapp_token": SecretStr("test-token"),
            "whatsapp_phone_number_id": "100200300",
            "whatsapp_app_secret": SecretStr(APP_SECRET),
            "whatsapp_verify_token": SecretStr(VERIFY_TOKEN),
            "whatsapp_api_url": "https://graph.test/v26.0",
        }
    )


@dataclass
class Serving:
    client: httpx.AsyncClient
    served: Served
    api: FakeGraphApi
    hooks: Webhooks

    async def post(
        self, payload: dict[str, Any] | bytes, secret: str = APP_SECRET
    ) -> httpx.Response:
        raw, header = signed(payload, secret)
        return await self.client.post(
            "/whatsapp", content=raw, headers={"X-Hub-Signature-256": header}
        )

    async def rows(self) -> list[tuple[str, str, int]]:
        async with self.served.db.read() as tx:
            found = await tx.execute(
                text("SELECT external_id, state, attempts FROM inbox ORDER BY id")
            )
            return [tuple(row) for row in found.all()]  # type: ignore[misc]

    async def settle(self) -> None:
        await self.served.intake.drain()
        await self.served.runtime.settle()


@asynccontextmanager
async def serving(settings: Settings, api: FakeGraphApi) -> AsyncIterator[Serving]:
    held: list[Served] = []

    @asynccontextmanager
    async def open_served() -> AsyncIterator[Served]:
        async with opened(settings, transport=api.transport(), offline=True) as served:
            held.append(served)
            yield served

    app = build_app(open_served)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://serve.test") as client:
            yield Serving(client, held[0], api, Webhooks(api))


@pytest.fixture
def api() -> FakeGraphApi:
    return FakeGraphApi()


async def test_meta_verification_echoes_the_challenge_only_to_the_right_token(
    whatsapp_settings: Settings, api: FakeGraphApi
) -> None:
    async with serving(whatsapp_settings, api) as s:
        good = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158"}
        answer = await s.client.get("/whatsapp", params=good)
        assert answer.status_code == 200
        assert answer.text == "1158"
        assert answer.headers["content-type"].startswith("text/plain")
        wrong_token = {**good, "hub.verify_token": "guess"}
        wrong_mode = {**good, "hub.mode": "unsubscribe"}
        for params in (wrong_token, wrong_mode, {"hub.challenge": "1158"}):
            refused = await s.client.get("/whatsapp", params=params)
            assert refused.status_code == 403
            assert "1158" not in refused.text


async def test_unsigned_and_wrongly_signed_posts_are_refused_and_logged_without_body(
    whatsapp_settings: Settings, api: FakeGraphApi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with serving(whatsapp_settings, api) as s:
        payload = s.hooks.text(CUSTOMER, "Road 7, house 12")
        unsigned = await s.client.post("/whatsapp", content=json.dumps(payload).encode())
        assert unsigned.status_code == 401
        wrong = await s.post(payload, secret="not-the-app-secret")
        assert wrong.status_code == 403
        raw, header = signed(payload, APP_SECRET)
        tampered = await s.client.post(
            "/whatsapp",
            content=raw.replace(b"house 12", b"house 13"),
            headers={"X-Hub-Signature-256": header},
        )
        assert tampered.status_code == 403
        assert await s.rows() == []
        await s.settle()
    assert api.calls == []
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "without a signature" in logged and "wrong signature" in logged
    assert "Road 7" not in logged and CUSTOMER not in logged


async def test_a_body_over_the_cap_is_refused(
    whatsapp_settings: Settings, api: FakeGraphApi
) -> None:
    async with serving(whatsapp_settings, api) as s:
        huge = b"{" + b" " * MAX_BODY + b"}"
        answer = await s.post(huge)
        assert answer.status_code == 413
        assert await s.rows() == []


async def test_a_signed_message_is_stored_before_the_200_then_answered(
    whatsapp_settings: Settings, api: FakeGraphApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with serving(whatsapp_settings, api) as s:
        queued: list[int] = []
        real_submit = s.served.intake.submit
        # Nothing is handled until the test says so: the row must be there on its own.
        monkeypatch.setattr(s.served.intake, "submit", lambda row: queued.append(row.id))
        payload = s.hooks.text(CUSTOMER, "/help")
        message_id = payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
        answer = await s.post(payload)
        assert answer.status_code == 200
        assert await s.rows() == [(message_id, "pending", 0)]
        assert api.sent_to(CUSTOMER) == []
        monkeypatch.setattr(s.served.intake, "submit", real_submit)
        async with s.served.db.read() as tx:
            from storage import inbox

            (row,) = await inbox.pending(tx)
        assert queued == [row.id]
        s.served.intake.submit(row)
        await s.settle()
        assert await s.rows() == [(message_id, "done", 1)]
        assert len(api.sent_to(CUSTOMER)) >= 1


async def test_a_redelivered_message_is_answered_200_and_handled_once(
    whatsapp_settings: Settings, api: FakeGraphApi
) -> None:
    async with serving(whatsapp_settings, api) as s:
        payload = s.hooks.text(CUSTOMER, "/help")
        assert (await s.post(payload)).status_code == 200
        await s.settle()
        answers = len(api.sent_to(CUSTOMER))
        assert answers >= 1
        # Meta retries a webhook it thinks failed; the same body comes again, later.
        assert (await s.post(payload)).status_code == 200
        await s.settle()
        assert len(api.sent_to(CUSTOMER)) == answers
        assert [state for _, state, _ in await s.rows()] == ["done"]


async def test_an_update_whose_handling_is_cut_off_is_handled_at_the_next_start(
    whatsapp_settings: Settings, api: FakeGraphApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = asyncio.Event()
    real_handle = intake_module.handle

    async def stuck(core: Any, event: Inbound, **kwargs: Any) -> None:
        started.set()
        await asyncio.Event().wait()  # until cancelled by the stop

    monkeypatch.setattr(intake_module, "handle", stuck)
    async with serving(whatsapp_settings, api) as s:
        payload = s.hooks.text(CUSTOMER, "/help")
        assert (await s.post(payload)).status_code == 200
        await asyncio.wait_for(started.wait(), 5)
    # The stop cancelled the handler: the update is still to do, and nothing was sent.
    assert api.sent_to(CUSTOMER) == []
    monkeypatch.setattr(intake_module, "handle", real_handle)
    async with serving(whatsapp_settings, api) as s:
        await s.settle()
        assert [state for _, state, _ in await s.rows()] == ["done"]
        answers = api.sent_to(CUSTOMER)
        assert len(answers) >= 1
        assert (await s.post(payload)).status_code == 200  # and a late redelivery is not
        await s.settle()
        assert api.sent_to(CUSTOMER) == answers


async def test_one_persons_messages_are_handled_in_arrival_order(
    whatsapp_settings: Settings, api: FakeGraphApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    real_handle = intake_module.handle

    async def recording(core: Any, event: Inbound, **kwargs: Any) -> None:
        seen.append(event.payload.name)  # type: ignore[union-attr]
        await asyncio.sleep(0.01 if len(seen) == 1 else 0)  # the first takes longest
        await real_handle(core, event, **kwargs)

    monkeypatch.setattr(intake_module, "handle", recording)
    async with serving(whatsapp_settings, api) as s:
        # Two messages of one person in one webhook body, as Meta batches them.
        first = s.hooks.text(CUSTOMER, "/help")
        second = s.hooks.text(CUSTOMER, "/privacy")
        value = first["entry"][0]["changes"][0]["value"]
        value["messages"] += second["entry"][0]["changes"][0]["value"]["messages"]
        assert (await s.post(first)).status_code == 200
        await s.settle()
        assert seen == ["help", "privacy"]
        assert [state for _, state, _ in await s.rows()] == ["done", "done"]


async def test_statuses_are_stored_once_and_marked_done(
    whatsapp_settings: Settings, api: FakeGraphApi
) -> None:
    async with serving(whatsapp_settings, api) as s:
        status = s.hooks.status("wamid.out1", "delivered", CUSTOMER)
        assert (await s.post(status)).status_code == 200
        assert (await s.post(status)).status_code == 200
        await s.settle()
        assert await s.rows() == [("status:delivered:wamid.out1", "done", 1)]
        assert api.calls == []


async def test_healthz_says_whether_the_database_answers(
    whatsapp_settings: Settings, api: FakeGraphApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with serving(whatsapp_settings, api) as s:
        healthy = await s.client.get("/healthz")
        assert healthy.status_code == 200
        assert healthy.json() == {
            "status": "ok",
            "database": "ok",
            "inbox_pending": 0,
            "outbox_oldest_due_s": None,
        }

        def broken() -> Any:
            raise OperationalError("SELECT 1", {}, Exception("disk I/O error"))

        monkeypatch.setattr(s.served.db, "read", broken)
        sick = await s.client.get("/healthz")
        assert sick.status_code == 503
        assert sick.json()["status"] == "unavailable"


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    for name in list(__import__("os").environ):
        if name.startswith("MISTRI_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    monkeypatch.setattr("service.cli.logs.configure", lambda level: None)
    monkeypatch.setenv("MISTRI_DATA_KEY", "cli-test-secret-0123456789abcdef0123456789")
    monkeypatch.setenv("MISTRI_ADMIN_CHAT_ID", "-100500")
    for name, value in (
        ("TOKEN", "test-token"),
        ("PHONE_NUMBER_ID", "100200300"),
        ("APP_SECRET", APP_SECRET),
        ("VERIFY_TOKEN", VERIFY_TOKEN),
    ):
        monkeypatch.setenv(f"MISTRI_WHATSAPP_{name}", value)


@pytest.mark.parametrize(
    ("change", "argv", "expected"),
    [
        ({}, ["serve", "--workers", "2"], "several workers need PostgreSQL: set"),
        ({}, ["serve", "--workers", "0"], "--workers must be 1 or more"),
        ({"MISTRI_ADMIN_CHAT_ID": None}, ["serve"], "MISTRI_ADMIN_CHAT_ID is not set"),
        ({"MISTRI_WHATSAPP_APP_SECRET": None}, ["serve"], "set MISTRI_WHATSAPP_APP_SECRET"),
        (
            {
                "MISTRI_WHATSAPP_TOKEN": None,
                "MISTRI_WHATSAPP_PHONE_NUMBER_ID": None,
                "MISTRI_WHATSAPP_APP_SECRET": None,
                "MISTRI_WHATSAPP_VERIFY_TOKEN": None,
            },
            ["serve"],
            "nothing to serve",
        ),
        ({"MISTRI_LISTEN": "8080"}, ["serve"], "MISTRI_LISTEN: host:port"),
        ({"MISTRI_WHATSAPP_TEMPLATES": "offer=x"}, ["serve"], "unknown purpose"),
    ],
)
def test_serve_refuses_what_it_cannot_do_in_one_line(
    clean_environment: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    change: dict[str, str | None],
    argv: list[str],
    expected: str,
) -> None:
    from service.cli import main

    for name, value in change.items():
        if value is None:
            monkeypatch.delenv(name)
        else:
            monkeypatch.setenv(name, value)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("mistri-bot: ") and expected in err
    assert len(err.strip().splitlines()) == 1
    assert APP_SECRET not in err and VERIFY_TOKEN not in err
