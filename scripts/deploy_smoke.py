"""Start the parts as their containers start them, with the cluster's stores, and talk to them.

    unshare --net .venv/bin/python scripts/deploy_smoke.py      (as root)

In a network namespace of its own (so the containers' fixed ports 5055/5005/8080 are not shared
with anything else on the machine): a throwaway PostgreSQL (project tables and tracker store) and
Redis (Rasa's lock store) from Debian's packages, then `python -m bot.container NAME` for the
action server, Rasa, the web server and the worker with the environment deploy/compose.yml gives
them (addresses are 127.0.0.1 instead of service names; no nginx: Rasa calls the action server
directly). Waits for each part's health check (what the images' HEALTHCHECK runs), asks a question
and reports a symptom over REST, loads the web page, and checks that the ticket, the conversation
and the lock store's traffic reached PostgreSQL and Redis. What Docker itself adds (images,
networks, restart policies) is not exercised: there is no Docker daemon here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from sqlalchemy import create_engine, text

from bot.paths import PROJECT_ROOT
from bot.readiness import wait_until
from tests.support.servers import postgres_server, redis_server

PARTS = ["actions", "rasa", "web", "worker"]


def health(name: str, env: dict[str, str]) -> bool:
    check = [sys.executable, "-m", "bot.container", "--health", name]
    return subprocess.run(check, env=env, capture_output=True).returncode == 0


def say(sender: str, message: str) -> list[dict]:
    body = json.dumps({"sender": sender, "message": message}).encode()
    request = urllib.request.Request(
        "http://127.0.0.1:5005/webhooks/rest/webhook",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.load(response)


def lock_store_calls(redis_port: int) -> int:
    """Commands Redis ran (Rasa's lock store is the only client)."""
    info = subprocess.run(
        ["redis-cli", "-p", str(redis_port), "info", "stats"], capture_output=True, text=True
    ).stdout
    return int(next(line for line in info.splitlines() if "total_commands_processed" in line)
               .split(":")[1])  # fmt: skip


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def errors_logged(work: Path) -> list[str]:
    return [
        f"{log.name}: {line}"
        for log in sorted(work.glob("*.log"))
        for line in log.read_text(errors="replace").splitlines()
        if " ERROR " in line or line.startswith("Traceback")
    ]


def main() -> int:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    work = Path(tempfile.mkdtemp(prefix="meso-deploy-smoke-"))
    processes: list[subprocess.Popen] = []
    started = time.monotonic()
    try:
        with postgres_server() as postgres, redis_server() as redis:
            postgres.create_database("meso_tracker")
            env = {
                **os.environ,
                "PYTHONPATH": str(PROJECT_ROOT),
                "TF_CPP_MIN_LOG_LEVEL": "3",
                "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
                "RASA_TELEMETRY_ENABLED": "false",  # as in the image
                "MESO_VAR_DIR": str(work),
                "MESO_DATABASE_URL": postgres.url(),
                "MESO_TRACKER_URL": postgres.url("meso_tracker"),
                "MESO_REDIS_URL": redis.url(1),
                "MESO_ACTION_URL": "http://127.0.0.1:5055/webhook",
                "MESO_WEB_HOST": "0.0.0.0",
                "MESO_RASA_URL": "http://localhost:5005",
            }
            before = lock_store_calls(redis.port)
            for name in PARTS:
                log = open(work / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
                command = [sys.executable, "-m", "bot.container", name]
                processes.append(
                    subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
                )
            for name in PARTS:
                wait_until(lambda name=name: health(name, env), 600, f"{name} healthy")
                print(f"{name} healthy after {time.monotonic() - started:.0f} s", flush=True)
            assert say("smoke-1", "how much does it cost"), "no answer to a question"
            assert say("smoke-2", "I have a fever and the injection site is swollen and hot")
            with urllib.request.urlopen("http://127.0.0.1:8080/", timeout=10) as response:
                assert "localhost:5005" in response.read().decode(), "web page without Rasa's URL"
            time.sleep(5)  # a few worker passes
            projects = create_engine(postgres.url())
            tracker = create_engine(postgres.url("meso_tracker"))
            with projects.connect() as db:
                tickets = db.execute(text("select count(*) from tickets")).scalar()
            with tracker.connect() as db:
                senders = db.execute(text("select count(distinct sender_id) from events")).scalar()
            projects.dispose()
            tracker.dispose()
            calls = lock_store_calls(redis.port) - before
            stop(processes)  # before the servers they use
            errors = errors_logged(work)
            print(
                f"tickets in PostgreSQL: {tickets}; conversations in the tracker store: "
                f"{senders}; Redis commands (lock store): {calls}; errors logged: {len(errors)}"
            )
            print("\n".join(errors[:20]))
            assert tickets == 1 and senders == 2 and calls > 0 and not errors
            print("ok")
            return 0
    finally:
        stop(processes)
        print(f"logs: {work}")


if __name__ == "__main__":
    sys.exit(main())
