"""deploy/ for ``serve``: the workers' systemd template, the compose file, the TLS proxy.

``systemd-analyze verify`` (through deploy/verify.sh) where it is installed; docker and Caddy
are not run here, so their files are checked for what the production guide promises.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from service.polling import STOP_LIMIT

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
RUN_UNIT = DEPLOY / "mistri-bot.service"
SERVE_UNIT = DEPLOY / "mistri-bot-serve@.service"
VERIFY = DEPLOY / "verify.sh"

needs_systemd = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed"
)

#: Lines of the polling unit that every unit of the bot keeps as they are.
HARDENING = (
    "NoNewPrivileges",
    "ProtectSystem",
    "StateDirectory",
    "StateDirectoryMode",
    "ReadWritePaths",
    "PrivateTmp",
    "PrivateDevices",
    "ProtectKernelTunables",
    "ProtectKernelModules",
    "ProtectControlGroups",
    "RestrictSUIDSGID",
    "LockPersonality",
    "UMask",
    "User",
    "Group",
    "WorkingDirectory",
    "EnvironmentFile",
)


def keys(unit: Path) -> dict[str, str]:
    return dict(
        line.split("=", 1) for line in unit.read_text().splitlines() if re.match(r"^\w+=", line)
    )


def verify(*units: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(VERIFY), *map(str, units)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@needs_systemd
def test_verify_checks_both_units_by_default() -> None:
    result = verify()
    assert result.returncode == 0, result.stderr
    assert "mistri-bot.service: OK" in result.stdout
    assert "mistri-bot-serve@.service: OK" in result.stdout


@needs_systemd
@pytest.mark.parametrize(
    ("line", "replacement"),
    [
        ("Restart=on-failure", "Restart=on-failur"),
        ("Environment=MISTRI_LISTEN=127.0.0.1:%i", "Environment=MISTRI_LISTEN=127.0.0.1:%i\nX=1"),
        (
            "ExecStart=/opt/mistri-bot/.venv/bin/mistri-bot serve",
            "ExecStart=/opt/mistri-bot/.venv/bin/mistri-bot run",
        ),
    ],
)
def test_verify_refuses_a_broken_serve_template(
    tmp_path: Path, line: str, replacement: str
) -> None:
    text = SERVE_UNIT.read_text()
    assert line in text
    broken = tmp_path / SERVE_UNIT.name
    broken.write_text(text.replace(line, replacement))
    result = verify(broken)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "verify.sh: mistri-bot-serve@.service" in result.stderr


def test_the_serve_template_runs_one_worker_per_port_hardened_as_run() -> None:
    serve, run = keys(SERVE_UNIT), keys(RUN_UNIT)
    assert serve["ExecStart"] == "/opt/mistri-bot/.venv/bin/mistri-bot serve"
    assert serve["Environment"] == "MISTRI_LISTEN=127.0.0.1:%i"
    assert {key: serve[key] for key in HARDENING} == {key: run[key] for key in HARDENING}
    assert serve["KillSignal"] == "SIGTERM"
    assert float(serve["TimeoutStopSec"].removesuffix("s")) > STOP_LIMIT
    assert serve["RestartPreventExitStatus"] == "2"


def test_the_proxy_passes_the_webhooks_only() -> None:
    caddy = (DEPLOY / "Caddyfile").read_text()
    live = "\n".join(line for line in caddy.splitlines() if not line.strip().startswith("#"))
    assert re.search(r"@webhooks path /telegram /whatsapp\n", live)
    assert "/metrics" not in live and "/healthz" not in live.replace("health_uri /healthz", "")
    assert "respond 404" in live
    assert "127.0.0.1:8081 127.0.0.1:8082" in live


def test_the_compose_file_has_postgres_16_and_workers_from_the_repository() -> None:
    yaml = pytest.importorskip("yaml")
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    postgres = services["postgres"]
    assert postgres["image"] == "postgres:16"
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert any(volume.startswith("pgdata:") for volume in postgres["volumes"])
    workers = [one for name, one in services.items() if name.startswith("worker")]
    assert len(workers) == 2
    for worker in workers:
        assert worker["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
        url = worker["environment"]["MISTRI_DATABASE_URL"]
        assert url.startswith("postgresql+asyncpg://")
        assert worker["depends_on"]["postgres"] == {"condition": "service_healthy"}
        (port,) = worker["ports"]
        assert port.startswith("127.0.0.1:")  # never on every interface of the host
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert dockerfile.startswith("#") and "FROM python:3.11-slim" in dockerfile
    assert "--extra postgres" in dockerfile
    assert 'CMD ["mistri-bot", "serve"]' in dockerfile
