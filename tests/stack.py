"""Starting the real system for end-to-end tests: the same supervisord-based `Stack` that
`make run` uses, so a test can also kill a part and watch supervisor restart it.

Every server binds port 0 and the stack reads back the port it got (bot/serve.py), so nothing
picks a free port and releases it for someone else to take.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from bot.paths import CLINIC_CONFIG, PROJECT_ROOT
from bot.serve import Stack, StackSettings


def ensure_model() -> Path:
    """Train the model when it is missing or older than its data (the Makefile decides)."""
    subprocess.run(["make", "-s", "train"], cwd=PROJECT_ROOT, check=True)
    return PROJECT_ROOT / "models" / "current.tar.gz"


@contextmanager
def start_stack(
    workdir: Path,
    extra_env: dict[str, str] | None = None,
    with_web: bool = True,
    with_worker: bool = False,
) -> Iterator[Stack]:
    """Action server, Rasa and (optionally) web server and worker on loopback ports chosen by the
    system, under one supervisord whose files and logs are in `workdir`; stopped on exit."""
    settings = StackSettings(
        work_dir=workdir,
        model=ensure_model(),
        rasa_port=0,
        action_port=0,
        web_port=0,
        worker_port=0,
        with_web=with_web,
        with_worker=with_worker,
        extra_env=extra_env or {},
    )
    with Stack(settings) as stack:
        yield stack


class WebhookReceiver:
    """A clinic's notification endpoint on loopback (port 0), recording what it receives, served
    from its own thread until `close()`."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.received.append(
                    {"key": self.headers.get("Idempotency-Key"), "body": json.loads(body)}
                )
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/tickets"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def idempotency_keys(self) -> list[str]:
        return [r["key"] for r in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# The shared stack's privacy settings, unlike data/clinic.yml's: the notice's numbers and link
# must come from the clinic file the servers were given (tests/e2e/test_privacy_notice.py).
STACK_PRIVACY = {
    "policy_url": "https://clinic.example/privacy-policy",
    "conversation_retention_days": 45,
    "transcript_retention_days": 400,
}


def clinic_with_webhook(directory: Path, url: str) -> Path:
    """A copy of the clinic configuration that notifies `url` (retrying quickly), in `directory`,
    with the privacy settings STACK_PRIVACY."""
    data = yaml.safe_load(CLINIC_CONFIG.read_text())
    data["notifications"] = {"webhook_url": url, "max_attempts": 20, "backoff_seconds": 0.5}
    data["privacy"] = dict(STACK_PRIVACY)
    path = directory / "clinic.yml"
    path.write_text(yaml.safe_dump(data))
    return path
