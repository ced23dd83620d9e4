"""The daily retention job: scheduled for ``mistri-bot run``, not offline; runs both erasures."""

from __future__ import annotations

from datetime import date, timedelta

from telegram.ext import Application, CallbackContext, Job

from bot.app import build_application, start_offline, stop_offline
from service.config import Settings
from channels.telegram.fake_api import FakeBotApi, OfflineRequest
from bot.retention import FIRST_RUN, INTERVAL, JOB_NAME
from conversations.session import Session
from storage.engine import session_factory
from storage.models import ConversationSession, Customer, Order, OrderStatus, utcnow
from tests.conftest import TOKEN, Bot


def retention_jobs(application: Application) -> tuple[Job, ...]:  # type: ignore[type-arg]
    job_queue = application.job_queue
    assert job_queue is not None
    return tuple(job_queue.get_jobs_by_name(JOB_NAME))


async def test_offline_applications_schedule_no_retention(bot: Bot) -> None:
    assert retention_jobs(bot.application) == ()


async def test_run_schedules_the_job_daily_soon_after_start(settings: Settings) -> None:
    # As `mistri-bot run` builds it: the real HTTP client. post_init is called directly, as
    # run_polling does, so that no network is needed.
    application = build_application(settings, token=TOKEN)
    assert application.post_init is not None and application.post_shutdown is not None
    await application.post_init(application)
    try:
        (job,) = retention_jobs(application)
        trigger = job.job.trigger
        assert trigger.interval == INTERVAL == timedelta(days=1)
        assert timedelta(minutes=5) >= FIRST_RUN
    finally:
        await application.post_shutdown(application)


async def test_the_job_erases_expired_orders_and_abandoned_bookings(settings: Settings) -> None:
    settings.retention_days = 30
    api = FakeBotApi()
    application = build_application(
        settings, token=TOKEN, request=OfflineRequest(api), rate_limit=False, retention=True
    )
    runtime = await start_offline(application)
    try:
        (job,) = retention_jobs(application)
        now = utcnow()
        async with session_factory(runtime.engine)() as db:
            customer = Customer(telegram_id=77, lang="en")
            db.add(customer)
            await db.flush()
            for number, age in ((1, 31), (2, 29)):
                db.add(
                    Order(
                        reference=f"MS-000{number}",
                        draft_id=f"d{number}",
                        customer_id=customer.id,
                        service="plumbing",
                        area="mirpur",
                        phone="+8801712345678",
                        name="Rahim",
                        visit_date=date(2026, 1, 1),
                        visit_part="morning",
                        status=OrderStatus.DONE,
                        updated_at=now - timedelta(days=age),
                    )
                )
            await db.commit()
        # A booking the person walked away from, cached by the running bot's session store.
        await runtime.store.save(Session(77, "en", "booking", "address", {"name": "Rahim"}))
        async with session_factory(runtime.engine)() as db:
            row = await db.get(ConversationSession, 77)
            assert row is not None
            row.updated_at = now - timedelta(days=8)
            await db.commit()

        result = await job.callback(CallbackContext.from_job(job, application))

        assert (result.orders, result.sessions) == (1, 1)
        async with session_factory(runtime.engine)() as db:
            old = await db.get(Order, 1)
            recent = await db.get(Order, 2)
            assert old is not None and recent is not None
            assert (old.phone, old.name, old.customer_id) == (None, None, None)
            assert (recent.phone, recent.name) == ("+8801712345678", "Rahim")
        session = await runtime.store.load(77)
        assert (session.lang, session.flow, session.data) == ("en", "idle", {})
    finally:
        await stop_offline(application)
