"""``mistri-bot keys rotate``: re-encrypt personal data under a new key (issue 4 completes it)."""

from __future__ import annotations

import sys

from bot.config import Settings


async def rotate_keys(settings: Settings) -> int:
    """Not available yet: say so in one line rather than pretend."""
    print("mistri-bot: keys rotate is not implemented yet (see issue 4)", file=sys.stderr)
    return 1
