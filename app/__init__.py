"""What happens: the use cases, over a few ports, with no channel and no SQL dialect.

``app.handle.handle`` answers one inbound event end to end; each module of this package
answers its own commands, buttons and actions (``app/routes.py``), in transactions of
``storage``'s unit of work, and reaches people through the :class:`~app.ports.Channel` port.
"""
