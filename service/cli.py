"""The ``mistri-bot`` command: run, serve, demo, technician, db, keys."""

from __future__ import annotations

# Only what parsing the arguments needs is imported here, so `mistri-bot --help` and a bad
# argument answer at once; each command imports what it uses (the database, the Bot API
# client and the conversations take about a second to import).
import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn

from service import logs  # the standard library only

if TYPE_CHECKING:
    from service.config import Settings


class UsageError(Exception):
    """A bad argument: reported in one line, exit status 2."""


class _OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr, as the interface promises."""

    def error(self, message: str) -> NoReturn:
        """Report a bad argument in one line and exit with status 2."""
        self.exit(2, f"mistri-bot: {message} (see mistri-bot --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(prog="mistri-bot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_OneLineParser)
    commands.add_parser("run", help="run the Telegram bot (long polling)")
    serve = commands.add_parser(
        "serve", help="serve the webhooks (Telegram, WhatsApp) on MISTRI_LISTEN"
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="worker processes sharing MISTRI_LISTEN (default 1); more than 1 needs"
        " PostgreSQL (MISTRI_DATABASE_URL=postgresql+asyncpg://...). Migrations are applied"
        " once before they start; each update is handled by one of them, a person's in order,"
        " and one that dies is restarted (its updates go to the others after a 30 s lease)."
        " Several serve processes (on several machines) may also share one PostgreSQL",
    )
    demo = commands.add_parser("demo", help="try the whole flow offline, no token needed")
    demo.add_argument("--script", action="store_true", help="play a scripted booking and exit")
    demo.add_argument("--lang", choices=("bn", "en"), default=None, help="customer's language")
    demo.add_argument("--database", default=None, help="SQLite file to keep (default: temporary)")
    demo.add_argument(
        "--channel",
        choices=("telegram", "whatsapp"),
        default=None,
        help="the customer's app (default telegram; --script alone plays both)",
    )

    tech = commands.add_parser("technician", help="manage technicians").add_subparsers(
        dest="action", required=True
    )
    add = tech.add_parser("add", help="register an approved technician")
    add.add_argument("--telegram-id", type=int, default=None, help="reached on Telegram")
    add.add_argument(
        "--whatsapp", action="store_true", help="reached on WhatsApp at --phone (no Telegram id)"
    )
    add.add_argument("--name", required=True)
    add.add_argument("--phone", required=True)
    add.add_argument("--services", required=True, help="comma-separated service slugs")
    add.add_argument("--areas", required=True, help="comma-separated area slugs, or all")
    add.add_argument("--lang", choices=("bn", "en"), default="bn")
    tech.add_parser("list", help="list technicians (phone masked)")
    for action, text in (
        ("disable", "stop offering jobs to a technician (their record stays)"),
        ("enable", "offer jobs to a disabled technician again"),
        ("remove", "delete a technician who never had a job offer"),
    ):
        one = tech.add_parser(action, help=text)
        one.add_argument("technician_id", type=int, help="the id printed by add / list")

    db = commands.add_parser("db", help="database").add_subparsers(dest="action", required=True)
    db.add_parser("upgrade", help="apply migrations")
    keys = commands.add_parser("keys", help="data keys").add_subparsers(
        dest="action", required=True
    )
    keys.add_parser("rotate", help="re-encrypt personal data under a new key")
    return parser


def _slugs(raw: str, known: Sequence[str], what: str, allow_all: bool = False) -> list[str]:
    from conversations.catalogue import ALL_AREAS

    slugs = [part.strip() for part in raw.split(",") if part.strip()]
    if allow_all and slugs == [ALL_AREAS]:
        return slugs
    unknown = [slug for slug in slugs if slug not in known]
    if not slugs or unknown:
        raise UsageError(f"unknown {what}: {', '.join(unknown) or '(none given)'}")
    return slugs


async def _technician_add(settings: Settings, args: argparse.Namespace) -> int:
    from channels.telegram.inbound import address as telegram_address
    from channels.whatsapp.inbound import address as whatsapp_address
    from conversations.catalogue import AREAS_BY_SLUG, SERVICES_BY_SLUG
    from conversations.phone import mask, parse_bd_mobile
    from service.runtime import open_database
    from storage import technicians

    if args.whatsapp and args.telegram_id is not None:
        raise UsageError(
            "give --telegram-id or --whatsapp, not both (a technician is reached on one channel)"
        )
    if not args.whatsapp and args.telegram_id is None:
        raise UsageError(
            "say where the technician is reached: --telegram-id ID, or --whatsapp (at --phone)"
        )
    phone = parse_bd_mobile(args.phone)
    if phone is None:
        raise UsageError("--phone is not a Bangladeshi mobile number (e.g. 01712345678)")
    # A WhatsApp user is known by their number in E.164 without the '+' (the webhook's wa_id).
    person = whatsapp_address(phone) if args.whatsapp else telegram_address(args.telegram_id)
    where = f"WhatsApp {mask(phone)}" if args.whatsapp else f"telegram id {args.telegram_id}"
    name = args.name.strip()
    if not name:
        raise UsageError("--name is empty")
    services = _slugs(args.services, list(SERVICES_BY_SLUG), "service")
    areas = _slugs(args.areas, list(AREAS_BY_SLUG), "area", allow_all=True)
    db = await open_database(settings)
    try:
        async with db.transaction() as tx:
            try:
                technician = await technicians.add(
                    tx,
                    person=person,
                    name=name,
                    phone=phone,
                    services=services,
                    areas=areas,
                    lang=args.lang,
                )
            except technicians.DuplicateTechnicianError as error:
                raise UsageError(f"{where} is already technician {error}") from error
        print(technician.id)
    finally:
        await db.close()
    return 0


async def _technician_change(settings: Settings, action: str, technician_id: int) -> int:
    from service.runtime import open_database
    from storage import technicians

    db = await open_database(settings)
    try:
        async with db.transaction() as tx:
            try:
                if action == "remove":
                    await technicians.remove(tx, technician_id=technician_id)
                else:
                    await technicians.set_active(
                        tx, technician_id=technician_id, active=action == "enable"
                    )
            except technicians.UnknownTechnicianError as error:
                raise UsageError(f"no technician with id {technician_id}") from error
            except technicians.TechnicianHasHistoryError as error:
                raise UsageError(
                    f"technician {technician_id} has job history; use"
                    f" `technician disable {technician_id}` instead"
                ) from error
    finally:
        await db.close()
    print(f"technician {technician_id} {action}d")
    return 0


async def _technician_list(settings: Settings) -> int:
    from conversations.phone import mask
    from service.runtime import open_database
    from storage import technicians

    db = await open_database(settings)
    try:
        async with db.read() as tx:
            rows = await technicians.list_all(tx)
    finally:
        await db.close()
    if not rows:
        print("no technicians registered")
        return 0
    header = f"{'id':>4}  {'channel':<8}  {'reached at':>12}  {'phone':<12}  {'active':<6}"
    print(f"{header}  name / services / areas")
    for row in rows:
        phone = mask(row.phone) if row.phone else "-"
        active = "yes" if row.active else "no"
        reached = row.external_id or "-"  # a technician who left keeps no id
        if row.channel != "telegram" and row.external_id:
            # A WhatsApp id is the phone number itself: shown masked, as the phone is.
            reached = mask("+" + row.external_id.lstrip("+"))
        print(
            f"{row.id:>4}  {row.channel:<8}  {reached:>12}  {phone:<12}  {active:<6}  "
            f"{row.name} / {row.services} / {row.areas}"
        )
    return 0


async def _db_upgrade(settings: Settings) -> int:
    from service.runtime import open_database

    db = await open_database(settings)
    await db.close()
    print("database is up to date")
    return 0


def _keys_rotate(settings: Settings) -> int:
    import asyncio

    from service.rotate import RotateRefused, rotate_keys
    from storage.rotation import RotationError

    try:
        return asyncio.run(rotate_keys(settings))
    except RotateRefused as error:
        print(f"mistri-bot: {error}", file=sys.stderr)
        return 2
    except RotationError as error:
        # On a terminal the progress bar may be half drawn: start on a line of our own.
        fresh_line = "\n" if sys.stderr.isatty() else ""
        print(f"{fresh_line}mistri-bot: keys rotate stopped: {error}", file=sys.stderr)
        return 1


def _run(settings: Settings) -> int:
    import asyncio

    from service.polling import run_polling

    if settings.telegram_token is None:
        raise UsageError("MISTRI_TELEGRAM_TOKEN is not set (get a token from @BotFather)")
    if settings.admin_chat_id is None:
        # Orders nobody takes, applications and handoffs go there: without it the bot would
        # promise customers and technicians an answer that no one is there to give.
        raise UsageError(
            "MISTRI_ADMIN_CHAT_ID is not set: give the id of the operators' Telegram chat"
            " (see README, Running in production)"
        )
    return asyncio.run(run_polling(settings, settings.telegram_token.get_secret_value()))


def _serve(settings: Settings, workers: int) -> int:
    import asyncio

    from service.serve import ServeRefused, check, serve
    from service.workers import serve_workers

    try:
        check(settings, workers)
        if workers > 1:
            return serve_workers(settings, workers)
        return asyncio.run(serve(settings))
    except ServeRefused as error:
        raise UsageError(str(error)) from None


def _one_line(error: Exception) -> str:
    """An error's text for a one-line message: first line only, no token in it."""
    lines = str(error).strip().splitlines()
    return logs.scrub(lines[0])[:200] if lines else type(error).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mistri-bot`` console script."""
    args = _parser().parse_args(argv)
    import asyncio
    import logging

    from pydantic import ValidationError
    from sqlalchemy.exc import SQLAlchemyError
    from telegram.error import InvalidToken, NetworkError, TelegramError

    from channels.telegram.polling import REFUSED, PollingStopped
    from service.config import Settings
    from service.runtime import StartupError
    from storage.database import DatabaseUrlError

    logs.configure(logging.INFO if args.command in ("run", "serve") else logging.WARNING)
    # Its one ERROR is an answer that is not JSON (a wrong MISTRI_TELEGRAM_BASE_URL), logged
    # with a traceback and the answer's body; the same error reaches us and is told in a line.
    logging.getLogger("telegram.request").setLevel(logging.CRITICAL)
    try:
        settings = Settings()
        logs.use_format(settings.log_format)
        if args.command == "run":
            return _run(settings)
        if args.command == "serve":
            return _serve(settings, args.workers)
        if args.command == "demo":
            from service.demo import run_demo

            return asyncio.run(
                run_demo(
                    settings,
                    script=args.script,
                    lang=args.lang,
                    database=args.database,
                    channel=args.channel,
                )
            )
        if args.command == "technician" and args.action == "add":
            return asyncio.run(_technician_add(settings, args))
        if args.command == "technician" and args.action == "list":
            return asyncio.run(_technician_list(settings))
        if args.command == "technician":
            return asyncio.run(_technician_change(settings, args.action, args.technician_id))
        if args.command == "db":
            return asyncio.run(_db_upgrade(settings))
        if args.command == "keys":
            return _keys_rotate(settings)
    except UsageError as error:
        print(f"mistri-bot: {error}", file=sys.stderr)
        return 2
    except ValidationError as error:
        first = error.errors()[0]
        where = "MISTRI_" + str(first["loc"][0]).upper() if first["loc"] else "configuration"
        # A validator's own words, without pydantic's "Value error, " before them.
        message = str(first["msg"]).removeprefix("Value error, ")
        print(f"mistri-bot: {where}: {message}", file=sys.stderr)
        return 2
    except DatabaseUrlError as error:
        print(f"mistri-bot: MISTRI_DATABASE_URL: {error}", file=sys.stderr)
        return 2
    except StartupError as error:
        print(f"mistri-bot: {error}", file=sys.stderr)
        return 1
    except PollingStopped as error:
        print(f"mistri-bot: stopped: {error}", file=sys.stderr)
        return 1
    except InvalidToken:
        print(f"mistri-bot: {REFUSED}", file=sys.stderr)
        return 1
    except NetworkError as error:
        print(
            f"mistri-bot: cannot reach the Bot API server ({_one_line(error)}): check the"
            " network, and MISTRI_TELEGRAM_BASE_URL if it is set",
            file=sys.stderr,
        )
        return 1
    except TelegramError as error:
        print(
            f"mistri-bot: the Bot API server answered with an error ({_one_line(error)}):"
            " check MISTRI_TELEGRAM_BASE_URL and MISTRI_TELEGRAM_TOKEN",
            file=sys.stderr,
        )
        return 1
    except SQLAlchemyError as error:
        print(f"mistri-bot: database error: {type(error).__name__}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 2
