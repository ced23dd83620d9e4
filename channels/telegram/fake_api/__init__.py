"""In-process simulation of the Telegram Bot API, for the offline demo, the tests and benchmarks.

``FakeBotApi`` (``server``) keeps the little state a bot can observe (messages it sent, queued
updates, commands, descriptions), answers Bot API methods with the JSON Telegram would send
(``messages``, validating text and keyboards with ``markup``), records every call and can be
told to fail the next call(s) for a chat or a method (before or after carrying them out, or
losing their answers), or to upgrade a group to a supergroup (``faults``); its ``*_update``
methods (``updates``) build what a user would send. ``OfflineRequest`` (``request``) plugs it into
python-telegram-bot as its networking backend, so ``telegram.Bot`` / ``Application`` run
unchanged with no token and no network.

Thread-safety: state is guarded by a ``threading.Lock`` and ``getUpdates`` long polling wakes
waiters through ``loop.call_soon_threadsafe``, so one ``FakeBotApi`` may be driven from several
threads and event loops at once (e.g. an HTTP server thread and a test's loop).
"""

from channels.telegram.fake_api.markup import BOT_BLOCKED, FLOOD_WAIT
from channels.telegram.fake_api.request import OfflineRequest, Upload, decode_params
from channels.telegram.fake_api.server import ApiCall, FakeBotApi

__all__ = [
    "BOT_BLOCKED",
    "FLOOD_WAIT",
    "ApiCall",
    "FakeBotApi",
    "OfflineRequest",
    "Upload",
    "decode_params",
]
