"""The process: CLI, configuration, the runtime (delivery worker, timers), the demo.

It plugs the channels into the core (``app/``) and owns their start-up and shutdown.
"""
