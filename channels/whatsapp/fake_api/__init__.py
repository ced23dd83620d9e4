"""In-process simulation of the WhatsApp Cloud API, for the demo, the tests and benchmarks.

``FakeGraphApi`` (``server``) answers ``POST /{phone number id}/messages`` and ``/media`` as
the Cloud API would, refuses every request that breaks one of its limits (``checks``) with
Meta's error JSON and code, keeps each person's 24-hour window (opened by what they send),
records calls and fails the next calls with a given code on demand. It plugs into httpx as
a transport (``FakeGraphApi.transport()``): no network. ``webhooks`` builds the bodies Meta
posts to the bot (messages, button replies, locations, statuses) and signs them.
"""

from channels.whatsapp.fake_api.server import WINDOW, FakeGraphApi, GraphCall
from channels.whatsapp.fake_api.webhooks import Webhooks, signed

__all__ = ["WINDOW", "FakeGraphApi", "GraphCall", "Webhooks", "signed"]
