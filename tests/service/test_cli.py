"""The ``mistri-bot`` console command, as operators run it.

Most calls go through ``service.cli.main(argv)`` in this process, with the environment, the
working directory, stdout and stderr of their own: a subprocess costs a second of imports, and
these tests are about what the command does and says. What only a real process shows (the
console script, the Bot API client's own logging, what ``--help`` imports) runs in one.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import SecretStr

import service.demo as demo_module
from channels.telegram.fake_api import FakeBotApi
from service import cli as cli_module
from service.config import Settings
from service.logs import QUIET_LOGGERS
from storage import crypto
from tests.channels.telegram.faulty_api import FaultyBotApi
from tests.fakes.http_bot_api import serve_bot_api

DATA_KEY = "cli-test-secret-0123456789abcdef0123456789abcdef"
TIMEOUT = 120


def command() -> list[str]:
    beside = Path(sys.executable).parent / "mistri-bot"
    script = str(beside) if beside.exists() else shutil.which("mistri-bot")
    if script:
        return [script]
    return [sys.executable, "-c", "import sys; from service.cli import main; sys.exit(main())"]


@dataclass
class Result:
    code: int
    out: str
    err: str

    def one_line_error(self) -> str:
        """The whole of stderr, which must be one line without a traceback."""
        assert "Traceback" not in self.err, self.err
        lines = self.err.strip().splitlines()
        assert len(lines) == 1, self.err
        assert lines[0].startswith("mistri-bot: "), self.err
        return lines[0]


class Cli:
    """Runs ``mistri-bot`` in a temporary working directory with a clean environment.

    In this process by default; ``in_process=False`` starts the console script instead.
    """

    def __init__(self, workdir: Path, *, in_process: bool = True) -> None:
        self.workdir = workdir
        self.in_process = in_process
        self.database = workdir / "mistri-test.db"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("MISTRI_")}
        self.env.update(
            {
                "MISTRI_DATABASE_URL": f"sqlite+aiosqlite:///{self.database}",
                "MISTRI_DATA_KEY": DATA_KEY,
                "MISTRI_ADMIN_CHAT_ID": "-100500",
            }
        )

    def __call__(self, *args: str, **env: str | None) -> Result:
        return self.many([list(args)], **env)[0]

    def many(self, runs: list[list[str]], **env: str | None) -> list[Result]:
        """Run several invocations (at once, when they are processes)."""
        return self.each([(args, env) for args in runs])

    def each(self, runs: list[tuple[list[str], dict[str, str | None]]]) -> list[Result]:
        """Run several invocations, each with its own changes to the environment."""
        if self.in_process:
            return [self.call(args, self.environment(env)) for args, env in runs]
        processes = []
        for args, env in runs:
            processes.append(
                subprocess.Popen(
                    [*command(), *args],
                    cwd=self.workdir,
                    env=self.environment(env),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        results = []
        try:
            for process in processes:
                out, err = process.communicate(timeout=TIMEOUT)
                results.append(Result(process.returncode, out, err))
        finally:
            for process in processes:
                if process.poll() is None:
                    process.kill()
                    process.wait()
        return results

    def environment(self, changes: dict[str, str | None]) -> dict[str, str]:
        run_env = dict(self.env)
        for key, value in changes.items():
            if value is None:
                run_env.pop(key, None)
            else:
                run_env[key] = value
        return run_env

    def call(self, args: list[str], env: dict[str, str]) -> Result:
        """``main(args)`` as a fresh process would run it, then this process as it was."""
        saved_env, saved_cwd, saved_keyring = dict(os.environ), os.getcwd(), crypto._keyring
        root = logging.getLogger()
        saved_handlers, saved_level = root.handlers[:], root.level
        loggers = [logging.getLogger(name) for name in QUIET_LOGGERS]
        saved_levels = [logger.level for logger in loggers]
        out, err = io.StringIO(), io.StringIO()
        os.environ.clear()
        os.environ.update(env)
        os.chdir(self.workdir)
        crypto._keyring = None  # a new process has no data key until the command opens one
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    code = cli_module.main(args)
                except SystemExit as exit_:  # argparse: --help, a bad argument
                    code = exit_.code if isinstance(exit_.code, int) else 1
                except Exception:
                    traceback.print_exc()  # what the process would have shown
                    code = 1
        finally:
            os.environ.clear()
            os.environ.update(saved_env)
            os.chdir(saved_cwd)
            crypto._keyring = saved_keyring
            root.handlers[:] = saved_handlers
            root.setLevel(saved_level)
            for logger, level in zip(loggers, saved_levels, strict=True):
                logger.setLevel(level)
        return Result(code, out.getvalue(), err.getvalue())


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


@pytest.fixture
def process_cli(tmp_path: Path) -> Cli:
    """The console script in a process of its own."""
    return Cli(tmp_path, in_process=False)


def add_args(
    telegram_id: str = "900100",
    name: str = "Karim Uddin",
    phone: str = "01712345678",
    services: str = "plumbing,electrical",
    areas: str = "mirpur,uttara",
) -> list[str]:
    return [
        "technician",
        "add",
        "--telegram-id",
        telegram_id,
        "--name",
        name,
        "--phone",
        phone,
        "--services",
        services,
        "--areas",
        areas,
    ]


HEAVY = ("sqlalchemy", "telegram", "pydantic", "pydantic_settings", "alembic", "babel", "httpx")


@pytest.mark.parametrize("args", [["--help"], ["technician", "add", "--help"], ["nonsense"]])
def test_help_and_bad_arguments_import_no_library(args: list[str]) -> None:
    # `mistri-bot --help` answered in 2.6 s when it imported everything; the libraries are
    # what took the time, so none of them may be loaded before a command needs it.
    probe = (
        "import sys\n"
        "from service.cli import main\n"
        "try:\n"
        f"    main({args!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print('loaded:', sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    assert done.stdout.strip().endswith("loaded: []"), done.stdout + done.stderr
    assert "Traceback" not in done.stderr


def test_help_lists_every_command(cli: Cli) -> None:
    result = cli("--help")
    assert result.code == 0
    for name in ("run", "demo", "technician", "db", "keys"):
        assert name in result.out


def test_technician_add_and_list(cli: Cli) -> None:
    first = cli(*add_args())
    assert first.code == 0, first.err
    assert re.fullmatch(r"\d+", first.out.strip()), first.out
    assert "Traceback" not in first.err

    everywhere = cli(
        *add_args("900200", "Jamal", "+880 1812-345678", "ac-servicing", "all"), "--lang", "en"
    )
    assert everywhere.code == 0, everywhere.err
    assert int(everywhere.out.strip()) > int(first.out.strip())

    listing = cli("technician", "list")
    assert listing.code == 0, listing.err
    out = listing.out
    assert "Karim Uddin" in out and "Jamal" in out
    assert "900100" in out and "900200" in out
    assert "017••••5678" in out and "018••••5678" in out
    for digits in ("01712345678", "1712345678", "01812345678", "1812345678", "+880"):
        assert digits not in out
    jamal = next(line for line in out.splitlines() if "Jamal" in line)
    assert "all" in jamal and "ac-servicing" in jamal

    again = cli(*add_args(phone="01912345678"))
    assert again.code == 2
    assert "already technician" in again.one_line_error()


BAD_ADD_ARGUMENTS = [
    (add_args(phone="12345"), "--phone"),
    (add_args(services="plumbing,gardening"), "unknown service: gardening"),
    (add_args(areas="mirpur,atlantis"), "unknown area: atlantis"),
    (add_args(areas="all,mirpur"), "unknown area: all"),
]


def test_technician_add_rejects_bad_arguments(cli: Cli) -> None:
    results = cli.many([args for args, _ in BAD_ADD_ARGUMENTS])
    for (args, message), result in zip(BAD_ADD_ARGUMENTS, results, strict=True):
        assert result.code == 2, args
        assert message in result.one_line_error(), args
        assert result.out == "", args
    listing = cli("technician", "list")
    assert listing.code == 0
    assert listing.out.strip() == "no technicians registered"


def test_db_upgrade(cli: Cli) -> None:
    result = cli("db", "upgrade")
    assert result.code == 0, result.err
    assert cli.database.exists()
    assert "Traceback" not in result.err


def test_run_without_token_refuses_to_start(cli: Cli) -> None:
    result = cli("run", MISTRI_TELEGRAM_TOKEN=None)
    assert result.code != 0
    assert "MISTRI_TELEGRAM_TOKEN" in result.one_line_error()
    assert result.out == ""


def test_run_without_an_operators_chat_refuses_before_any_network(
    cli: Cli, tmp_path: Path
) -> None:
    api = FaultyBotApi()
    api.refuse("getMe", 401, "Unauthorized")  # were it reached, `run` would stop at once
    with serve_bot_api(api) as base_url:
        result = cli(
            "run",
            MISTRI_TELEGRAM_TOKEN=BOT_TOKEN,
            MISTRI_TELEGRAM_BASE_URL=base_url,
            MISTRI_ADMIN_CHAT_ID=None,
        )
    assert result.code == 2
    line = result.one_line_error()
    assert "MISTRI_ADMIN_CHAT_ID is not set" in line and "operators'" in line
    assert result.out == ""
    assert api.calls == []  # not even getMe
    assert sorted(path.name for path in tmp_path.iterdir()) == []  # no database, no key


def test_wrong_data_key_for_existing_database(cli: Cli) -> None:
    assert cli(*add_args()).code == 0
    runs = [["technician", "list"], add_args("900300")]
    results = cli.many(runs, MISTRI_DATA_KEY="another-secret-" + "9" * 40)
    for args, result in zip(runs, results, strict=True):
        assert result.code != 0, args
        assert "wrong data key" in result.one_line_error()
        assert "Karim" not in result.out
    listing = cli("technician", "list")  # the right key still works, nothing was added
    assert listing.code == 0
    assert "900300" not in listing.out


def test_key_file_is_created_once_when_no_key_is_configured(cli: Cli) -> None:
    first = cli("db", "upgrade", MISTRI_DATA_KEY=None)
    assert first.code == 0, first.err
    key_file = Path(f"{cli.database}.key")
    assert key_file.exists()
    assert "created a new data key file" in first.err
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    secret = key_file.read_text()
    second = cli(*add_args(), MISTRI_DATA_KEY=None)
    assert second.code == 0, second.err
    assert "created" not in second.err
    assert key_file.read_text() == secret


def test_unusable_settings_and_database_fail_in_one_line(cli: Cli, tmp_path: Path) -> None:
    unreachable = f"sqlite+aiosqlite:///{tmp_path / 'missing-dir' / 'sub' / 'x.db'}"
    result = cli("db", "upgrade", MISTRI_DATABASE_URL=unreachable)
    assert result.code != 0
    assert "database" in result.one_line_error()
    bad_admin = cli("technician", "list", MISTRI_ADMIN_CHAT_ID="not-a-number")
    assert bad_admin.code != 0
    assert "MISTRI_ADMIN_CHAT_ID" in bad_admin.one_line_error()


BOT_TOKEN = "123456:TEST-cli-token-00000000000000000000000"


@pytest.fixture
def closed_url() -> str:
    """A Bot API base URL on a local port nothing listens on: connections are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/bot"


SQLITE_FORM = "sqlite+aiosqlite:///path/to/mistri.db"
POSTGRES_FORM = "postgresql+asyncpg://user:password@host/dbname"
PASSWORD = "s3cretpw"
BAD_URLS = [
    ("nonsense", SQLITE_FORM),
    ("sqlite:///x.db", SQLITE_FORM),
    (f"mysql://admin:{PASSWORD}@db.example/mistri", POSTGRES_FORM),
    (f"postgresql+psycopg2://admin:{PASSWORD}@db.example/mistri", POSTGRES_FORM),
]


def test_database_urls_the_bot_cannot_use_are_one_line_saying_the_form_expected(
    cli: Cli,
) -> None:
    runs = [
        (args, {"MISTRI_DATABASE_URL": url, "MISTRI_DATA_KEY": None})
        for url, _ in BAD_URLS
        for args in (["db", "upgrade"], ["technician", "list"])
    ]
    results = cli.each(runs)
    for (args, env), result in zip(runs, results, strict=True):
        form = dict(BAD_URLS)[str(env["MISTRI_DATABASE_URL"])]
        assert result.code == 2, (args, env, result.err)
        line = result.one_line_error()
        assert line.startswith("mistri-bot: MISTRI_DATABASE_URL: "), line
        assert form in line, line
        assert PASSWORD not in line
    assert sorted(path.name for path in cli.workdir.iterdir()) == []  # no database, no key


def test_postgresql_without_its_driver_says_which_extra_to_install(
    cli: Cli, closed_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As without the postgres extra (the tests have it): the driver is not to be found.
    monkeypatch.setitem(sys.modules, "asyncpg", None)
    urls = [
        f"postgresql+asyncpg://admin:{PASSWORD}@localhost/mistri",
        f"postgresql://admin:{PASSWORD}@localhost/mistri",
    ]
    runs = [
        (args, {"MISTRI_DATABASE_URL": url, "MISTRI_DATA_KEY": None})
        for url in urls
        for args in (["db", "upgrade"], ["technician", "list"], ["keys", "rotate"])
    ]
    token = {"MISTRI_TELEGRAM_TOKEN": BOT_TOKEN, "MISTRI_TELEGRAM_BASE_URL": closed_url}
    runs += [(["run"], {"MISTRI_DATABASE_URL": urls[1], "MISTRI_DATA_KEY": None, **token})]
    for (args, env), result in zip(runs, cli.each(runs), strict=True):
        assert result.code == 2, (args, env, result.err)
        line = result.one_line_error()
        assert "asyncpg" in line and "mistri-bot[postgres]" in line, line
        assert PASSWORD not in line
    # Nothing was made meanwhile: no key file beside no database.
    assert sorted(path.name for path in cli.workdir.iterdir()) == []


def test_run_with_the_bot_api_unreachable_is_one_line(process_cli: Cli, closed_url: str) -> None:
    result = process_cli(
        "run", MISTRI_TELEGRAM_TOKEN=BOT_TOKEN, MISTRI_TELEGRAM_BASE_URL=closed_url
    )
    assert result.code == 1
    line = result.one_line_error()
    assert "cannot reach the Bot API server" in line
    assert "MISTRI_TELEGRAM_BASE_URL" in line  # what to check
    assert BOT_TOKEN not in line
    assert result.out == ""


def test_run_with_a_token_the_bot_api_refuses_is_one_line(process_cli: Cli) -> None:
    api = FaultyBotApi()
    api.refuse("getMe", 401, "Unauthorized")
    with serve_bot_api(api) as base_url:
        result = process_cli(
            "run", MISTRI_TELEGRAM_TOKEN=BOT_TOKEN, MISTRI_TELEGRAM_BASE_URL=base_url
        )
    assert result.code == 1
    line = result.one_line_error()
    assert "refused MISTRI_TELEGRAM_TOKEN" in line and "@BotFather" in line
    assert BOT_TOKEN not in result.err + result.out
    assert [call.method for call in api.calls] == ["getMe"]  # nothing else was tried


def test_settings_are_read_from_a_dotenv_file(cli: Cli, tmp_path: Path) -> None:
    other = tmp_path / "from-dotenv.db"
    (tmp_path / ".env").write_text(
        f"MISTRI_DATABASE_URL=sqlite+aiosqlite:///{other}\nMISTRI_DATA_KEY={DATA_KEY}\n"
    )
    result = cli("db", "upgrade", MISTRI_DATABASE_URL=None, MISTRI_DATA_KEY=None)
    assert result.code == 0, result.err
    assert other.exists()
    assert not cli.database.exists()


def test_demo_script(process_cli: Cli) -> None:
    cli = process_cli
    result = cli("demo", "--script", MISTRI_DATA_KEY=None)
    assert result.code == 0, result.out + result.err
    assert "Traceback" not in result.err
    references = set(re.findall(r"MS-[0-9A-Z]{3,}", result.out))
    assert len(references) == 2, references  # one booking on Telegram, one on WhatsApp
    assert "You accepted this job." in result.out  # the technician's side, always English
    assert "Karim Uddin" in result.out
    assert "demo script: OK" in result.out
    # The demo works in a temporary database: nothing is left in the working directory.
    assert not cli.database.exists()
    assert sorted(p.name for p in cli.workdir.iterdir()) == []


async def test_demo_script_makes_no_failing_bot_api_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    apis: list[FakeBotApi] = []

    class RecordingApi(FakeBotApi):
        def __init__(self, **kwargs: object) -> None:
            super().__init__(**kwargs)  # type: ignore[arg-type]
            apis.append(self)

    monkeypatch.setattr(demo_module, "FakeBotApi", RecordingApi)
    out = io.StringIO()
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    code = await demo_module.run_demo(settings, script=True, lang="en", database=None, out=out)
    assert code == 0
    assert "will do your job" in out.getvalue()
    (api,) = apis
    failed = [(call.method, call.status) for call in api.calls if call.status != 200]
    assert failed == []


def test_technician_disable_enable_and_remove(cli: Cli) -> None:
    technician_id = cli(*add_args()).out.strip()
    disabled = cli("technician", "disable", technician_id)
    assert disabled.code == 0, disabled.err
    row = next(line for line in cli("technician", "list").out.splitlines() if "Karim" in line)
    assert " no " in row
    assert cli("technician", "enable", technician_id).code == 0
    row = next(line for line in cli("technician", "list").out.splitlines() if "Karim" in line)
    assert " yes " in row

    removed = cli("technician", "remove", technician_id)
    assert removed.code == 0, removed.err
    assert "Karim" not in cli("technician", "list").out

    missing = cli("technician", "disable", "4242")
    assert missing.code == 2
    assert "no technician with id 4242" in missing.one_line_error()


def whatsapp_args(phone: str = "01812345678", *extra: str) -> list[str]:
    return [
        "technician",
        "add",
        "--whatsapp",
        "--name",
        "Selim",
        "--phone",
        phone,
        "--services",
        "ac-servicing",
        "--areas",
        "all",
        *extra,
    ]


def test_technician_add_on_whatsapp_is_reached_at_the_phone(cli: Cli) -> None:
    import asyncio

    from service.runtime import open_database
    from storage import technicians

    telegram = cli(*add_args())
    assert telegram.code == 0, telegram.err
    added = cli(*whatsapp_args("+880 1812-345678"))
    assert added.code == 0, added.err
    assert re.fullmatch(r"\d+", added.out.strip()), added.out

    async def stored() -> list[tuple[str, str | None]]:
        db = await open_database(
            Settings(
                _env_file=None,  # type: ignore[call-arg]
                database_url=f"sqlite+aiosqlite:///{cli.database}",
                data_key=SecretStr(DATA_KEY),
            )
        )
        try:
            async with db.read() as tx:
                return [(row.channel, row.external_id) for row in await technicians.list_all(tx)]
        finally:
            await db.close()

    # The WhatsApp id is the E.164 number without '+', as the webhook's wa_id says it.
    assert asyncio.run(stored()) == [("telegram", "900100"), ("whatsapp", "8801812345678")]

    listing = cli("technician", "list")
    assert listing.code == 0, listing.err
    selim = next(line for line in listing.out.splitlines() if "Selim" in line)
    karim = next(line for line in listing.out.splitlines() if "Karim" in line)
    assert "whatsapp" in selim and "telegram" in karim
    assert "channel" in listing.out.splitlines()[0]
    for digits in ("8801812345678", "1812345678", "01812345678"):
        assert digits not in listing.out  # the WhatsApp id is the number: masked too

    again = cli(*whatsapp_args("01812345678"))
    assert again.code == 2
    line = again.one_line_error()
    assert "already technician" in line and "018••••5678" in line and "1812345678" not in line


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (whatsapp_args("01812345678", "--telegram-id", "900100"), "not both"),
        (
            [arg for arg in whatsapp_args() if arg != "--whatsapp"],
            "--telegram-id ID, or --whatsapp",
        ),
    ],
)
def test_technician_add_needs_exactly_one_channel(cli: Cli, args: list[str], message: str) -> None:
    result = cli(*args)
    assert result.code == 2
    assert message in result.one_line_error()
    assert result.out == ""
    assert cli("technician", "list").out.strip() == "no technicians registered"
