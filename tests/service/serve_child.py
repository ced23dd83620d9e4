"""One ``serve`` worker for the kill harness: ``python -m tests.service.serve_child '<json>'``.

It runs ``serve``'s app (``service.serve.build_app`` over ``opened``, as each process of
``mistri-bot serve --workers N`` does) under uvicorn on the loopback port named, in the
offline mode (no pacing per chat, no flood cap, no retention, no rate limiter), with both
channels: Telegram (token, webhook secret, the fake Bot API's URL) and WhatsApp (token, app
secret, phone number id, the fake Graph API's URL). The JSON: ``port``, ``database_url``,
``telegram_url``, ``graph_url``, ``data_key``, ``lease_s``, ``concurrency``. It runs until
it is killed (``tests/service/kill_harness.py`` SIGKILLs it) or terminated.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import warnings
from datetime import timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from service.config import Settings

#: What the harness and the worker agree on (the fakes check the tokens and the secret).
TELEGRAM_TOKEN = "7000000001:KILL-offline-token-0000000000000000"
WEBHOOK_SECRET = "kill-webhook-secret-0123456789"
GRAPH_TOKEN = "kill-graph-token"
APP_SECRET = "kill-app-secret-0123456789"
PHONE_NUMBER_ID = "100200300"
ADMIN_CHAT = -100_200_300


def main(config: dict[str, Any]) -> None:
    """Serve until killed."""
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    from pydantic import SecretStr

    from service.config import Settings

    warnings.filterwarnings("ignore")
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    settings = Settings(
        _env_file=None,
        database_url=config["database_url"],
        data_key=SecretStr(config["data_key"]),
        admin_chat_id=ADMIN_CHAT,
        telegram_token=SecretStr(TELEGRAM_TOKEN),
        telegram_base_url=config["telegram_url"],
        webhook_secret=SecretStr(WEBHOOK_SECRET),
        whatsapp_token=SecretStr(GRAPH_TOKEN),
        whatsapp_phone_number_id=PHONE_NUMBER_ID,
        whatsapp_app_secret=SecretStr(APP_SECRET),
        whatsapp_verify_token=SecretStr("kill-verify"),
        whatsapp_api_url=config["graph_url"],
    )
    options = {"lease": timedelta(seconds=config["lease_s"])} if config.get("lease_s") else {}
    serve_offline(
        settings,
        port=config["port"],
        concurrency=config.get("concurrency", 256),
        intake_options=options,
    )


def serve_offline(
    settings: Settings,
    *,
    port: int,
    concurrency: int = 256,
    intake_options: dict[str, Any] | None = None,
) -> None:
    """Run ``serve``'s app on ``settings`` in the offline mode under uvicorn on ``port``."""
    import uvicorn

    from service.serve import build_app, opened

    app = build_app(
        lambda: opened(
            settings, offline=True, concurrency=concurrency, intake_options=intake_options
        )
    )
    uvicorn.run(
        app, host="127.0.0.1", port=port, lifespan="on", log_level="error", access_log=False
    )


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
