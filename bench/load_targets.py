"""What the load-and-fault harness (bench/load.py) runs against: a *target* gives the URLs of the
REST, socket.io and WhatsApp channels, the ticket database, the clinic's notification receiver,
the fake WhatsApp Graph API, and the names of the faults it supports.

Faults are a registry of named callables taking the target (`FAULTS`, filled with `@fault`): each
breaks one part and returns once the target serves again (supervisor restarts what was killed),
so the harness can space them out. A target lists the faults it supports in `faults`.

`EmbeddedTarget` is the default profile (bot/serve.py `Stack`: one Rasa, one action server, web
server, worker, SQLite) on ports the system chose. `ClusterTarget` is the cluster profile
(bot/cluster/stack.py `ClusterStack`: PostgreSQL, Redis, nginx, two replicas, two action
servers, web server, worker), reached through nginx's public entry as clients reach it. Both run
with the same clinic doubles (`clinic_doubles`: the notification receiver, the fake Graph API and
the settings pointing at them); a target's faults are one line each in `FAULTS`.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from bot.channels.whatsapp.privacy import pseudonym
from bot.channels.whatsapp.settings import WhatsAppSettings
from bot.cluster.stack import ClusterSettings, ClusterStack
from bot.readiness import wait_until
from bot.serve import Stack
from tests.channels import whatsapp_fakes as wa
from tests.channels.whatsapp_fakes import FakeGraph, fake_graph_in_thread
from tests.stack import WebhookReceiver, clinic_with_webhook, start_stack

RECOVERY_SECONDS = 240.0  # a killed Rasa reloads its model: slow on a busy 2-core machine


class Target(Protocol):
    """What the harness needs from a running deployment."""

    name: str
    rest_url: str  # …/webhooks/rest/webhook
    socketio_url: str  # the server socket.io connects to (path /socket.io)
    whatsapp_url: str  # …/webhooks/whatsapp/webhook
    database_url: str  # MESO_DATABASE_URL: tickets, outbox
    receiver: WebhookReceiver  # the clinic's notification endpoint
    graph: FakeGraph  # the WhatsApp Graph API the channel sends to
    whatsapp: WhatsAppSettings  # to sign webhooks and name WhatsApp conversations
    stack: Stack  # supervisor of the target's programs (Stack.pid, stop/start_process)
    faults: tuple[str, ...]  # names in FAULTS this target supports

    def wait_ready(self, timeout: float) -> None:
        """Return once every part answers again; raise TimeoutError otherwise."""


FaultAction = Callable[[Target], None]
FAULTS: dict[str, FaultAction] = {}


def fault(name: str) -> Callable[[FaultAction], FaultAction]:
    """Register `action` as the fault `name` (it breaks a part and returns once it serves)."""

    def register(action: FaultAction) -> FaultAction:
        FAULTS[name] = action
        return action

    return register


def kill_program(target: Target, program: str) -> None:
    """SIGKILL supervisor's `program` (a crash, no clean shutdown) and wait until supervisor has
    started it again and the target answers."""
    stack = target.stack
    killed = stack.pid(program)
    if not killed:
        raise RuntimeError(f"{program} is not running")
    os.kill(killed, signal.SIGKILL)
    wait_until(
        lambda: stack.pid(program) not in (0, killed),
        RECOVERY_SECONDS,
        f"supervisor restarting {program}",
        interval=0.2,
    )
    target.wait_ready(RECOVERY_SECONDS)


def restart_program(target: Target, program: str) -> None:
    """Stop `program` through supervisor (a clean stop) and start it again."""
    target.stack.stop_process(program)
    target.stack.start_process(program, wait=False)
    target.wait_ready(RECOVERY_SECONDS)


fault("kill_rasa")(lambda target: kill_program(target, "rasa"))
fault("kill_actions")(lambda target: kill_program(target, "actions"))
fault("kill_rasa_replica")(lambda target: kill_program(target, "rasa-1"))
fault("kill_action_server")(lambda target: kill_program(target, "actions-1"))
fault("restart_postgresql")(lambda target: restart_program(target, "postgres"))
fault("restart_redis")(lambda target: restart_program(target, "redis"))


def whatsapp_settings(graph: FakeGraph) -> WhatsAppSettings:
    """The WhatsApp settings a target's channel runs with (the test doubles' secrets)."""
    return WhatsAppSettings(
        verify_token=wa.VERIFY_TOKEN,
        app_secret=wa.APP_SECRET,
        access_token=wa.ACCESS_TOKEN,
        phone_number_id=wa.PHONE_NUMBER_ID,
        graph_url=graph.url,
    )


def whatsapp_env(settings: WhatsAppSettings) -> dict[str, str]:
    return {
        "WHATSAPP_VERIFY_TOKEN": settings.verify_token,
        "WHATSAPP_APP_SECRET": settings.app_secret,
        "WHATSAPP_ACCESS_TOKEN": settings.access_token,
        "WHATSAPP_PHONE_NUMBER_ID": settings.phone_number_id,
        "WHATSAPP_GRAPH_URL": settings.graph_url,
    }


def doubles_env(work_dir: Path, receiver: WebhookReceiver, graph: FakeGraph) -> dict[str, str]:
    """The environment that points a stack at the clinic's notification receiver and the fake
    Graph API (a clinic file written in `work_dir`, WHATSAPP_*)."""
    return {
        "MESO_CLINIC_CONFIG": str(clinic_with_webhook(work_dir, receiver.url)),
        **whatsapp_env(whatsapp_settings(graph)),
    }


@contextmanager
def clinic_doubles(work_dir: Path) -> Iterator[tuple[WebhookReceiver, FakeGraph, dict[str, str]]]:
    """The clinic's notification receiver and the fake WhatsApp Graph API, each in a thread,
    and `doubles_env` for them."""
    with ExitStack() as resources:
        receiver = WebhookReceiver()
        resources.callback(receiver.close)
        graph = resources.enter_context(fake_graph_in_thread())
        yield receiver, graph, doubles_env(work_dir, receiver, graph)


@dataclass
class EmbeddedTarget:
    """The embedded default stack (one Rasa, one action server, the worker, SQLite)."""

    stack: Stack
    receiver: WebhookReceiver
    graph: FakeGraph
    name: str = "embedded"
    faults: tuple[str, ...] = ("kill_rasa", "kill_actions")
    whatsapp: WhatsAppSettings = field(init=False)

    def __post_init__(self) -> None:
        if not self.stack.whatsapp_enabled:
            raise RuntimeError("the target's WhatsApp channel is off (set WHATSAPP_*)")
        self.whatsapp = whatsapp_settings(self.graph)

    @property
    def rest_url(self) -> str:
        return f"{self.stack.public_url}/webhooks/rest/webhook"

    @property
    def socketio_url(self) -> str:
        return self.stack.public_url

    @property
    def whatsapp_url(self) -> str:
        return f"{self.stack.public_url}/webhooks/whatsapp/webhook"

    @property
    def database_url(self) -> str:
        return self.stack.database_url

    def wait_ready(self, timeout: float) -> None:
        self.stack.wait_ready(timeout)

    @classmethod
    def started(cls, work_dir: Path, env: dict[str, str]) -> AbstractContextManager[Stack]:
        """The target's stack, started in `work_dir` with `env` on free ports (stopped on exit)."""
        return start_stack(work_dir, extra_env=env, with_worker=True)

    @classmethod
    @contextmanager
    def running(cls, work_dir: Path | None = None) -> Iterator[EmbeddedTarget]:
        """Start the target's stack (with the worker, a notification receiver and the fake
        Graph API) on free ports; stop everything on exit."""
        with ExitStack() as resources:
            if work_dir is None:
                # mode 755: the cluster's PostgreSQL runs as the postgres OS user
                work_dir = Path(tempfile.mkdtemp(suffix="-load"))
                work_dir.chmod(0o755)
                resources.callback(shutil.rmtree, work_dir, ignore_errors=True)
            receiver, graph, env = resources.enter_context(clinic_doubles(work_dir))
            started = time.monotonic()
            stack = resources.enter_context(cls.started(work_dir, env))
            print(f"{cls.name} stack ready in {time.monotonic() - started:.0f}s", flush=True)
            yield cls(stack, receiver, graph)


CLUSTER_START_SECONDS = 900.0  # two replicas loading their models on a busy 2-core machine


@contextmanager
def start_cluster(work_dir: Path, extra_env: dict[str, str]) -> Iterator[ClusterStack]:
    """The cluster profile on free ports, one Sanic worker per replica, with the worker."""
    settings = ClusterSettings.on_free_ports(work_dir, sanic_workers=1, extra_env=extra_env)
    stack = ClusterStack(settings)
    try:
        stack.start(timeout=CLUSTER_START_SECONDS)
        yield stack
    finally:
        stack.stop()


@dataclass
class ClusterTarget(EmbeddedTarget):
    """The cluster profile, reached through nginx (`ClusterStack.public_url`) as clients are."""

    name: str = "cluster"
    faults: tuple[str, ...] = (
        "kill_rasa_replica",
        "kill_action_server",
        "restart_postgresql",
        "restart_redis",
    )

    @classmethod
    def started(cls, work_dir: Path, env: dict[str, str]) -> AbstractContextManager[Stack]:
        return start_cluster(work_dir, env)


TARGETS: dict[str, type[EmbeddedTarget]] = {"embedded": EmbeddedTarget, "cluster": ClusterTarget}


def whatsapp_conversation(target: Target, phone: str) -> str:
    """The conversation id (and ticket conversation) of a WhatsApp number on `target`."""
    return pseudonym(phone, target.whatsapp.conversation_key)
