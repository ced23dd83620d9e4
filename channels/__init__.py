"""How the bot reaches people: one folder per channel, and nothing else knows them.

A channel turns its updates into the core's events (``conversations.events``), renders the
core's messages by meaning (``conversations.outbound``) within its own limits, and implements
:class:`app.ports.Channel`. Channels never import each other.
"""
