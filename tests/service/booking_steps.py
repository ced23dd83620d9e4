"""One whole booking as a customer sends it over webhooks, on Telegram and on WhatsApp.

Each step: (kind, text typed or button data as a pattern, what the answer must hold before
the next step: a button's data as a pattern, or None for any message). The kill harness
(``tests/service/kill_harness.py``) and the webhook benchmarks (``bench/serving.py``) play
these same steps.
"""

from __future__ import annotations

#: One booking on Telegram: (kind, text typed or button data as a pattern, what the answer
#: must hold before the next step: a button's data as a pattern, or None for any message).
TELEGRAM_STEPS: tuple[tuple[str, str, str | None], ...] = (
    ("text", "/start", None),
    ("text", "/book", "bk:consent:yes"),
    ("button", "bk:consent:yes", "bk:service:plumbing"),
    ("button", "bk:service:plumbing", None),
    ("text", "Kitchen tap is leaking", "bk:area:mirpur"),
    ("button", "bk:area:mirpur", None),
    ("text", "House 12, Road 5, Block C, near the mosque", None),
    ("text", "01712345678", None),
    ("text", "Rahim Uddin", r"bk:time:[0-9]{8}-evening"),
    ("button", r"bk:time:[0-9]{8}-evening", "bk:summary:confirm"),
    ("button", "bk:summary:confirm", "MS-"),
)
#: One booking on WhatsApp, the same way (the phone is the WhatsApp number's).
WHATSAPP_STEPS: tuple[tuple[str, str, str | None], ...] = (
    ("text", "/start", "go:book"),
    ("button", "go:book", "bk:consent:yes"),
    ("button", "bk:consent:yes", "bk:service:plumbing"),
    ("button", "bk:service:plumbing", None),
    ("text", "Kitchen tap is leaking", "bk:area:mirpur"),
    ("button", "bk:area:mirpur", None),
    ("text", "House 12, Road 5, Block C, near the mosque", r"wa\|contact"),
    ("button", "wa|contact", None),
    ("text", "Rahim Uddin", r"bk:time:[0-9]{8}-evening"),
    ("button", r"bk:time:[0-9]{8}-evening", "bk:summary:confirm"),
    ("button", "bk:summary:confirm", "MS-"),
)
