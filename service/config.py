"""Configuration from the environment and a ``.env`` file, as the operating interface fixes."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from channels.whatsapp import templates
from conversations.hours import parse_hours
from conversations.session import DEFAULT_SUPPORT_HOURS
from storage.database import check_url

DEFAULT_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///mistri.db"
DEFAULT_LISTEN = "127.0.0.1:8080"
DEFAULT_LOG_FORMAT = "text"
#: What MISTRI_LOG_FORMAT takes.
LOG_FORMATS = ("text", "json")
#: Meta's Graph API, at its current version (v26.0 in late 2026; see
#: https://developers.facebook.com/docs/graph-api/changelog). Messages go to
#: ``<url>/<phone number id>/messages``.
DEFAULT_WHATSAPP_API_URL = "https://graph.facebook.com/v26.0"
#: What Telegram takes as a webhook's secret token: 1-256 of A-Z, a-z, 0-9, _ and -
#: (https://core.telegram.org/bots/api#setwebhook).
_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


@dataclass(frozen=True)
class WhatsAppSettings:
    """Everything ``serve`` needs to reach WhatsApp and to trust its webhooks."""

    token: SecretStr
    phone_number_id: str
    app_secret: SecretStr
    verify_token: SecretStr
    api_url: str
    templates: dict[str, str]


class Settings(BaseSettings):
    """Every ``MISTRI_*`` setting; secrets are kept out of reprs and logs."""

    model_config = SettingsConfigDict(
        env_prefix="MISTRI_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    telegram_token: SecretStr | None = None
    telegram_base_url: str = DEFAULT_BASE_URL
    database_url: str = DEFAULT_DATABASE_URL
    data_key: SecretStr | None = None
    admin_chat_id: int | None = None
    #: Who may act in the operators' chat (Telegram user ids); unset: its administrators.
    operator_ids: str | None = None
    support_phone: str | None = None
    support_email: str | None = None
    #: When the operators answer ("Talk to a person"), ``HH:MM-HH:MM`` in Dhaka time;
    #: outside them the customer is told when someone will.
    support_hours: str = DEFAULT_SUPPORT_HOURS
    retention_days: int = Field(default=180, ge=1)
    #: Minutes a technician has to answer an offer before it moves to the next one.
    offer_timeout_minutes: float = Field(default=10, gt=0)
    #: The most orders a customer may have open at once; more are refused politely.
    max_open_orders: int = Field(default=3, ge=1)
    #: Messages one person may send in a burst, and how many a second after it; past that
    #: they are told once to slow down, and the rest is not answered until the pace drops.
    flood_burst: int = Field(default=20, ge=1)
    flood_rate: float = Field(default=1.0, gt=0)
    #: host:port that ``serve`` listens on.
    listen: str = DEFAULT_LISTEN
    #: The https base URL at which Telegram and Meta reach ``serve``; with it, ``serve``
    #: sets Telegram's webhook to ``<url>/telegram`` (without it, leaves it as it is).
    public_url: str | None = None
    #: The secret Telegram sends with every POST /telegram (``serve`` with a token needs it).
    webhook_secret: SecretStr | None = None
    whatsapp_token: SecretStr | None = None
    whatsapp_phone_number_id: str | None = None
    whatsapp_app_secret: SecretStr | None = None
    whatsapp_verify_token: SecretStr | None = None
    #: ``purpose=name`` pairs, comma-separated (``channels/whatsapp/templates.py``).
    whatsapp_templates: str | None = None
    whatsapp_api_url: str = DEFAULT_WHATSAPP_API_URL
    #: How ``run`` and ``serve`` write their log lines: ``text`` (for people) or ``json``
    #: (one object a line, for a log collector).
    log_format: str = DEFAULT_LOG_FORMAT

    @field_validator(
        "telegram_token",
        "whatsapp_token",
        "whatsapp_phone_number_id",
        "whatsapp_app_secret",
        "whatsapp_verify_token",
        "whatsapp_templates",
        "data_key",
        "admin_chat_id",
        "operator_ids",
        "support_phone",
        "support_email",
        "public_url",
        "webhook_secret",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # `MISTRI_ADMIN_CHAT_ID=` in a .env file means "not set", not an invalid number.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        # Checked where it is read, before anything uses it (the key file's place is worked
        # out from it): a URL the engine cannot take is one line saying the form expected.
        return check_url(value.strip() or DEFAULT_DATABASE_URL)

    @field_validator("support_hours", mode="before")
    @classmethod
    def _support_hours(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return DEFAULT_SUPPORT_HOURS
        if isinstance(value, str):
            parse_hours(value)  # ValueError: the form expected, in one line
            return value.strip()
        return value

    @field_validator("operator_ids")
    @classmethod
    def _user_ids(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = [part.strip() for part in value.split(",") if part.strip()]
        if not parts or not all(part.lstrip("-").isdigit() for part in parts):
            raise ValueError("a comma-separated list of Telegram user ids, such as 111,222")
        return ",".join(parts)

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        value = value.strip() or DEFAULT_LISTEN
        listen_address(value)  # a form serve cannot bind is refused where it is read
        return value

    @field_validator("log_format", mode="before")
    @classmethod
    def _log_format(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return DEFAULT_LOG_FORMAT
        if isinstance(value, str) and value.strip().lower() in LOG_FORMATS:
            return value.strip().lower()
        raise ValueError("either text or json")

    @field_validator("whatsapp_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        value = value.strip().rstrip("/") or DEFAULT_WHATSAPP_API_URL
        if not value.startswith(("https://", "http://")):
            raise ValueError("an http(s) URL such as " + DEFAULT_WHATSAPP_API_URL)
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().rstrip("/")
        if not value.startswith(("https://", "http://")) or value.endswith("://"):
            raise ValueError("the https base URL of serve, such as https://bot.example.com")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        # Telegram refuses any other secret at setWebhook: refused here, before start-up.
        if value is not None and not _WEBHOOK_SECRET.fullmatch(value.get_secret_value()):
            raise ValueError("1 to 256 characters, each a letter, a digit, _ or -")
        return value

    @field_validator("whatsapp_templates")
    @classmethod
    def _templates(cls, value: str | None) -> str | None:
        try:
            templates.parse(value)
        except templates.TemplateError as error:  # its words, without the name said twice
            raise ValueError(str(error).removeprefix("MISTRI_WHATSAPP_TEMPLATES: ")) from None
        return value

    @model_validator(mode="after")
    def _whatsapp_complete(self) -> Settings:
        # Half a WhatsApp configuration is a mistake, not "no WhatsApp": say what is missing.
        given = {
            "MISTRI_WHATSAPP_TOKEN": self.whatsapp_token,
            "MISTRI_WHATSAPP_PHONE_NUMBER_ID": self.whatsapp_phone_number_id,
            "MISTRI_WHATSAPP_APP_SECRET": self.whatsapp_app_secret,
            "MISTRI_WHATSAPP_VERIFY_TOKEN": self.whatsapp_verify_token,
        }
        if any(value is not None for value in given.values()):
            missing = [name for name, value in given.items() if value is None]
            if missing:
                raise ValueError(
                    f"WhatsApp is half configured: set {', '.join(missing)} as well"
                    " (or unset every MISTRI_WHATSAPP_* variable for no WhatsApp)"
                )
        return self

    def whatsapp(self) -> WhatsAppSettings | None:
        """The WhatsApp channel's settings (None: no WhatsApp channel configured)."""
        if (
            self.whatsapp_token is None
            or self.whatsapp_phone_number_id is None
            or self.whatsapp_app_secret is None
            or self.whatsapp_verify_token is None
        ):
            return None
        return WhatsAppSettings(
            token=self.whatsapp_token,
            phone_number_id=self.whatsapp_phone_number_id.strip(),
            app_secret=self.whatsapp_app_secret,
            verify_token=self.whatsapp_verify_token,
            api_url=self.whatsapp_api_url,
            templates=templates.parse(self.whatsapp_templates),
        )

    def operators(self) -> frozenset[str] | None:
        """The ids of ``MISTRI_OPERATOR_IDS`` (None when unset: the chat's administrators)."""
        if self.operator_ids is None:
            return None
        return frozenset(self.operator_ids.split(","))


def listen_address(value: str) -> tuple[str, int]:
    """Split ``host:port`` (``[::1]:8080`` for IPv6) into its host and port.

    Raises:
        ValueError: not that form, or a port outside 1-65535.
    """
    host, colon, port = value.strip().rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("host:port such as 127.0.0.1:8080 or 0.0.0.0:8080")
    return host, int(port)
