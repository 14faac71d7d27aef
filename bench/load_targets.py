"""What the load-and-fault harness (bench/load.py) runs against: a *target* gives the URLs of the
REST, socket.io and WhatsApp channels, the ticket database, the clinic's notification receiver,
the fake WhatsApp Graph API, and the names of the faults it supports.

Faults are a registry of named callables taking the target (`FAULTS`, filled with `@fault`): each
breaks one part and returns once the target serves again (supervisor restarts what was killed),
so the harness can space them out. A target lists the faults it supports in `faults`.

`EmbeddedTarget` is the default profile (bot/serve.py `Stack`: one Rasa, one action server, web
server, worker, SQLite) on ports the system chose. A cluster target plugs in by giving the same
attributes (`Target`) and registering its faults, e.g. one line each:

    fault("kill_rasa_replica")(lambda t: kill_program(t, "rasa1"))
    fault("restart_postgresql")(lambda t: restart_program(t, "postgresql"))
"""

from __future__ import annotations

import os
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from bot.channels.whatsapp.privacy import pseudonym
from bot.channels.whatsapp.settings import WhatsAppSettings
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
        return f"{self.stack.rasa_url}/webhooks/rest/webhook"

    @property
    def socketio_url(self) -> str:
        return self.stack.rasa_url

    @property
    def whatsapp_url(self) -> str:
        return f"{self.stack.rasa_url}/webhooks/whatsapp/webhook"

    @property
    def database_url(self) -> str:
        return self.stack.database_url

    def wait_ready(self, timeout: float) -> None:
        self.stack.wait_ready(timeout)

    @classmethod
    @contextmanager
    def running(cls, work_dir: Path | None = None) -> Iterator[EmbeddedTarget]:
        """Start the embedded stack (with the worker, a notification receiver and the fake
        Graph API) on free ports; stop everything on exit."""
        with ExitStack() as resources:
            if work_dir is None:
                work_dir = Path(resources.enter_context(tempfile.TemporaryDirectory("-load")))
            receiver = WebhookReceiver()
            resources.callback(receiver.close)
            graph = resources.enter_context(fake_graph_in_thread())
            env = {
                "MESO_CLINIC_CONFIG": str(clinic_with_webhook(work_dir, receiver.url)),
                **whatsapp_env(whatsapp_settings(graph)),
            }
            started = time.monotonic()
            stack = resources.enter_context(start_stack(work_dir, extra_env=env, with_worker=True))
            print(f"embedded stack ready in {time.monotonic() - started:.0f}s", flush=True)
            yield cls(stack, receiver, graph)


def whatsapp_conversation(target: Target, phone: str) -> str:
    """The conversation id (and ticket conversation) of a WhatsApp number on `target`."""
    return pseudonym(phone, target.whatsapp.conversation_key)
