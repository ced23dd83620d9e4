"""Telegram: python-telegram-bot for the Bot API, long polling, and an offline fake API.

``inbound`` reads updates into events, ``render`` and ``channel`` send the core's messages
(``channel.TelegramChannel`` is the :class:`app.ports.Channel`), ``polling`` fetches updates
for ``mistri-bot run``, and ``fake_api`` is the in-process Bot API the demo and tests use.
"""
