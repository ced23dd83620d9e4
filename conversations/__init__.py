"""What is said: transport-free conversation flows (booking, technician jobs, data rights).

Nothing in this package knows about Telegram or any other channel: flows take a typed
``Inbound`` event (``conversations.events``) and answer with a ``Reply``
(``conversations.outbound``).
"""
