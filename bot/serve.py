"""Start the whole assistant: action server, Rasa server, web server and notification worker.

`Stack` is used both by `make run` (`python -m bot serve`) and by the end-to-end tests, so the
way the system is started is written once. Runtime copies of endpoints.yml and credentials.yml
are written under the work directory with the chosen ports and databases.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.paths import PROJECT_ROOT, VAR_DIR

WHATSAPP_CHANNEL = "bot.channels.whatsapp.WhatsAppInput"
SOCKETIO_CHANNEL = "bot.channels.socketio.MesoSocketIOInput"
API_TOKEN_ENV = "MESO_RASA_API_TOKEN"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class StackSettings:
    work_dir: Path = VAR_DIR
    model: Path = PROJECT_ROOT / "models" / "current.tar.gz"
    rasa_port: int = 5005
    action_port: int = 5055
    web_port: int = 8080
    database_url: str | None = None  # default: sqlite file in work_dir
    with_web: bool = True
    with_worker: bool = True
    extra_env: dict[str, str] = field(default_factory=dict)
    log_dir: Path | None = None  # default: work_dir/logs

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.work_dir / 'meso.db'}"


def runtime_credentials(env: dict[str, str]) -> tuple[dict[str, Any], bool]:
    """credentials.yml with the WhatsApp channel kept only when its variables are set.

    Raises WhatsAppConfigError naming the missing variables when only some are set.
    """
    from bot.channels.whatsapp.settings import resolve_settings

    with open(PROJECT_ROOT / "credentials.yml", encoding="utf-8") as fh:
        # Parsed without Rasa's ${VAR} expansion; the WhatsApp block is rebuilt from the env.
        credentials = yaml.safe_load(fh) or {}
    whatsapp = resolve_settings(None, env)
    credentials.pop(WHATSAPP_CHANNEL, None)
    if whatsapp is not None:
        credentials[WHATSAPP_CHANNEL] = {
            "verify_token": whatsapp.verify_token,
            "app_secret": whatsapp.app_secret,
            "access_token": whatsapp.access_token,
            "phone_number_id": whatsapp.phone_number_id,
            "graph_url": whatsapp.graph_url,
        }
    credentials.setdefault("rest", None)
    credentials[SOCKETIO_CHANNEL] = {
        **(credentials.get(SOCKETIO_CHANNEL) or {}),
        "session_persistence": True,
    }
    return credentials, whatsapp is not None


def runtime_endpoints(settings: StackSettings) -> dict[str, Any]:
    with open(PROJECT_ROOT / "endpoints.yml", encoding="utf-8") as fh:
        endpoints = yaml.safe_load(fh)
    endpoints["action_endpoint"] = {"url": f"http://127.0.0.1:{settings.action_port}/webhook"}
    store = endpoints["tracker_store"]
    tracker_url = os.environ.get("MESO_TRACKER_URL") or settings.extra_env.get("MESO_TRACKER_URL")
    if tracker_url:
        for key in ("dialect", "db"):
            store.pop(key, None)
        store["host"] = tracker_url  # a full SQLAlchemy URL, e.g. postgresql://…
    else:
        store["db"] = str(settings.work_dir / "rasa_tracker.db")
    store["spool_dir"] = str(settings.work_dir / "spool")
    return endpoints


def _wait_http(url: str, proc: subprocess.Popen, timeout: float, name: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}; see {log}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status < 500:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{name} not ready at {url} after {timeout:.0f}s; see {log}")


class Stack:
    """The running system. Use as a context manager; `start()` returns once all parts answer."""

    def __init__(self, settings: StackSettings) -> None:
        self.settings = settings
        self.processes: dict[str, subprocess.Popen] = {}
        self.whatsapp_enabled = False
        self.ready_seconds: float | None = None

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.rasa_port}"

    @property
    def action_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.action_port}"

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.web_port}"

    @property
    def database_url(self) -> str:
        return self.settings.db_url

    @property
    def var_dir(self) -> Path:
        return self.settings.work_dir

    @property
    def log_dir(self) -> Path:
        return self.settings.log_dir or self.settings.work_dir / "logs"

    def env(self) -> dict[str, str]:
        env = {
            **os.environ,
            **self.settings.extra_env,
            "PYTHONPATH": str(PROJECT_ROOT),
            "MESO_DATABASE_URL": self.settings.db_url,
            "MESO_VAR_DIR": str(self.settings.work_dir),
            "MESO_WEB_PORT": str(self.settings.web_port),
            "MESO_RASA_URL": f"http://localhost:{self.settings.rasa_port}",
        }
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        return env

    def _spawn(self, name: str, args: list[str]) -> tuple[subprocess.Popen, Path]:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_dir / f"{name}.log"
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                args,
                cwd=PROJECT_ROOT,
                env=self.env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes[name] = proc
        return proc, log

    def _api_args(self) -> list[str]:
        """Rasa's HTTP API exposes every conversation: on only with MESO_RASA_API_TOKEN set."""
        token = self.env().get(API_TOKEN_ENV)
        return ["--enable-api", "--auth-token", token] if token else []

    def write_runtime_files(self) -> tuple[Path, Path]:
        work = self.settings.work_dir
        work.mkdir(parents=True, exist_ok=True)
        credentials, self.whatsapp_enabled = runtime_credentials(self.env())
        credentials_path = work / "credentials.run.yml"
        credentials_path.write_text(yaml.safe_dump(credentials, sort_keys=False))
        endpoints_path = work / "endpoints.run.yml"
        endpoints_path.write_text(yaml.safe_dump(runtime_endpoints(self.settings), sort_keys=False))
        return credentials_path, endpoints_path

    def start(self, timeout: float = 180.0) -> Stack:
        started = time.monotonic()
        credentials, endpoints = self.write_runtime_files()
        bin_dir = Path(sys.executable).parent
        python, rasa = str(bin_dir / "python"), str(bin_dir / "rasa")
        subprocess.run(
            [python, "-m", "bot", "kb", "load"],
            cwd=PROJECT_ROOT,
            env=self.env(),
            check=True,
            capture_output=True,
        )
        actions, actions_log = self._spawn(
            "actions",
            [
                rasa,
                "run",
                "actions",
                "--actions",
                "actions",
                "--port",
                str(self.settings.action_port),
            ],
        )
        rasa_proc, rasa_log = self._spawn(
            "rasa",
            [
                python,
                "-m",
                "bot.rasa_server",
                "run",
                "--model",
                str(self.settings.model),
                "--port",
                str(self.settings.rasa_port),
                "--endpoints",
                str(endpoints),
                "--credentials",
                str(credentials),
                "--cors",
                "*",
                *self._api_args(),
            ],
        )
        if self.settings.with_web:
            web, web_log = self._spawn("web", [python, "-m", "bot", "web"])
        if self.settings.with_worker:
            self._spawn("worker", [python, "-m", "bot", "worker"])
        try:
            _wait_http(f"{self.action_url}/health", actions, timeout, "action server", actions_log)
            _wait_http(f"{self.rasa_url}/webhooks/rest/", rasa_proc, timeout, "Rasa", rasa_log)
            if self.settings.with_web:
                _wait_http(f"{self.web_url}/", web, timeout, "web server", web_log)
        except Exception:
            self.stop()
            raise
        self.ready_seconds = time.monotonic() - started
        return self

    def stop_process(self, name: str) -> None:
        proc = self.processes.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def stop(self) -> None:
        for name in list(self.processes):
            self.stop_process(name)

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    """`make run`: start everything on the standard ports and wait for Ctrl-C."""
    from bot.channels.whatsapp.settings import WhatsAppConfigError

    stack = Stack(StackSettings())
    print("Starting the action server, Rasa, the web server and the notification worker…")
    try:
        stack.start()
    except (RuntimeError, TimeoutError, WhatsAppConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if not stack.whatsapp_enabled:
        print(
            "WhatsApp channel: off (set WHATSAPP_VERIFY_TOKEN, WHATSAPP_APP_SECRET, "
            "WHATSAPP_ACCESS_TOKEN and WHATSAPP_PHONE_NUMBER_ID to turn it on)"
        )
    web = "http://localhost:8080"
    print(
        f"\nReady in {stack.ready_seconds:.1f}s. Talk to the assistant:\n"
        f"  Demo page with the chat widget  {web}/\n"
        f"  Waiting-room kiosk              {web}/kiosk\n"
        f"  Clinician inbox                 {web}/clinician  (create an account: "
        f"make staff NAME=name)\n"
        f"  REST                            curl -s localhost:5005/webhooks/rest/webhook "
        f'-d \'{{"sender":"me","message":"how much does it cost"}}\'\n'
        f"  Socket.io                       http://localhost:5005/socket.io\n"
        + (
            "  WhatsApp webhook                http://localhost:5005/webhooks/whatsapp/webhook\n"
            if stack.whatsapp_enabled
            else ""
        )
        + f"Logs in {stack.log_dir}. Press Ctrl-C to stop."
    )
    stopping = False

    def _stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        while not stopping:
            for name, proc in stack.processes.items():
                if proc.poll() is not None:
                    print(
                        f"{name} stopped unexpectedly (exit {proc.returncode}); see logs",
                        file=sys.stderr,
                    )
                    stopping = True
            time.sleep(0.5)
    finally:
        stack.stop()
    return 0
