"""The kill harness's workers: ``serve`` processes on loopback ports, killed and restarted.

``Workers`` starts each worker (``tests/service/serve_child.py``) on its own port, SIGKILLs
one and starts it again; ``killer`` does that to a random live worker at random moments;
``ready`` waits for /healthz; ``serve_fake`` serves a fake API with uvicorn in this process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import uvicorn

if TYPE_CHECKING:
    from tests.service.kill_harness import KillConfig

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A port free on the loopback now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Workers:
    """The ``serve`` worker processes, each on its own port; one can be killed and restarted."""

    def __init__(self, config: KillConfig, telegram_url: str, graph_url: str) -> None:
        self.ports = [free_port() for _ in range(config.workers)]
        self._config = config
        self._urls = (telegram_url, graph_url)
        self.processes: list[subprocess.Popen[bytes] | None] = [None] * config.workers
        self.kills = 0

    def start(self, index: int) -> None:
        """Start worker ``index`` on its port."""
        child = {
            "port": self.ports[index],
            "database_url": self._config.database_url,
            "telegram_url": self._urls[0],
            "graph_url": self._urls[1],
            "data_key": self._config.data_key,
            "lease_s": self._config.lease_s,
            "concurrency": self._config.concurrency,
        }
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PTB_TIMEDELTA": "true"}
        log = self._config.logs
        errors = (log / f"worker-{index}.log").open("ab") if log else subprocess.DEVNULL
        try:
            self.processes[index] = subprocess.Popen(
                [sys.executable, "-m", "tests.service.serve_child", json.dumps(child)],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=errors,
            )
        finally:
            if log and not isinstance(errors, int):
                errors.close()

    def kill(self, index: int) -> None:
        """SIGKILL worker ``index`` (no grace, no claims given back) and wait for it."""
        process = self.processes[index]
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait()
            self.kills += 1

    def stop_all(self) -> None:
        """Stop every worker (SIGTERM, then SIGKILL)."""
        for process in self.processes:
            if process is not None and process.poll() is None:
                process.terminate()
        for process in self.processes:
            if process is None:
                continue
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def serve_fake(app: Any, port: int) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="error", access_log=False, lifespan="off"
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            await task
        await asyncio.sleep(0.01)
    return server, task


async def killer(
    workers: Workers, config: KillConfig, rng: random.Random, stop: asyncio.Event
) -> None:
    """SIGKILL a random worker at random moments and start it again on its port.

    Only a worker that is up (it answered /healthz since it started) is killed, and never
    the last one up: a worker dies among live ones, as in production, and a restart (a
    second or more of start-up on a small machine) does not leave nothing to post to.
    """
    assert config.kill_every is not None
    low, high = config.kill_every
    up = [True] * len(workers.ports)
    watchers: set[asyncio.Task[None]] = set()

    async def watch(index: int) -> None:
        with contextlib.suppress(TimeoutError, RuntimeError):
            await ready([workers.ports[index]], workers, 120.0, first=index)
            up[index] = True

    try:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), rng.uniform(low, high))
            live = [index for index, alive in enumerate(up) if alive]
            if stop.is_set() or len(live) < 2:
                continue
            index = rng.choice(live)
            up[index] = False
            await asyncio.to_thread(workers.kill, index)
            workers.start(index)
            task = asyncio.create_task(watch(index))
            watchers.add(task)
            task.add_done_callback(watchers.discard)
    finally:
        for task in watchers:
            task.cancel()


async def ready(ports: list[int], workers: Workers, within: float, first: int = 0) -> None:
    """Wait until every worker of ``ports`` answers /healthz (``first``: the first's index)."""
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(timeout=2.0) as client:
        for index, port in enumerate(ports, start=first):
            while True:
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                        break
                process = workers.processes[index]
                if process is not None and process.poll() is not None:
                    raise RuntimeError(f"worker {index} stopped at start-up (see its log)")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"worker {index} did not start")
                await asyncio.sleep(0.1)
