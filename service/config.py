"""Configuration from the environment and a ``.env`` file, as the operating interface fixes."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from conversations.hours import parse_hours
from conversations.session import DEFAULT_SUPPORT_HOURS
from storage.database import check_url

DEFAULT_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///mistri.db"


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

    @field_validator(
        "telegram_token",
        "data_key",
        "admin_chat_id",
        "operator_ids",
        "support_phone",
        "support_email",
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

    def operators(self) -> frozenset[str] | None:
        """The ids of ``MISTRI_OPERATOR_IDS`` (None when unset: the chat's administrators)."""
        if self.operator_ids is None:
            return None
        return frozenset(self.operator_ids.split(","))
