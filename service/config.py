"""Configuration from the environment and a ``.env`` file, as the operating interface fixes."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

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
    support_phone: str | None = None
    support_email: str | None = None
    retention_days: int = Field(default=180, ge=1)
    #: Minutes a technician has to answer an offer before it moves to the next one.
    offer_timeout_minutes: float = Field(default=10, gt=0)

    @field_validator(
        "telegram_token",
        "data_key",
        "admin_chat_id",
        "support_phone",
        "support_email",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # `MISTRI_ADMIN_CHAT_ID=` in a .env file means "not set", not an invalid number.
        return None if isinstance(value, str) and not value.strip() else value
