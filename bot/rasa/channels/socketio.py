"""Rasa's socket.io channel for the widget and the kiosk: two Rasa 3.6 defects fixed, and one
`bot_uttered` event per bot response.

1. With python-socketio 5.x, `AsyncServer.enter_room` is a coroutine; Rasa 3.6 calls it without
   `await`, so with session persistence the socket never joins its session's room and no reply
   reaches the browser.
2. Rasa emits a custom payload as keyword arguments of `emit`, so `{"meso": …}` raises
   TypeError. We send it as the event's data, like every other bot message.
3. Rasa sends a response's text (cut at every blank line, buttons on the last piece) and its
   custom payload as separate events. We emit each response as one event, in Rasa's socket.io
   form: `{"text"?, "quick_replies"?, **custom}`, so a `Reply` arrives as
   `{"text": …, "quick_replies": […], "meso": envelope}` (bot/channels/output.py).

A `user_uttered` event may name its message (`metadata.message_id`, bot/channels/message_id.py):
sent again after a reconnect with the same id, it is the same message: one ticket, and one
answer (bot/rasa/channels/resend.py).

A clinician's handoff lines reach the widget through this server too (bot/rasa/handoff.py:
the relay emits to the session's room and starts with this channel).

In the cluster profile every engine.io session id starts with the replica's name (MESO_REPLICA),
which is how nginx sends each request of a session to the replica holding it
(deploy/nginx/meso.conf.j2).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketIOInput, SocketIOOutput
from sanic import Blueprint

from bot.channels.message_id import client_message_id
from bot.channels.output import is_escalation, socketio_message
from bot.cluster import REPLICA_ENV, session_id_for_replica
from bot.observability.metrics import channel_label, observe_turn
from bot.rasa import handoff
from bot.rasa.channels.failsafe import run_or_answer_report
from bot.rasa.channels.resend import ResentMessages


class MesoSocketIOOutput(SocketIOOutput):
    escalated = False  # an escalation was sent (bot/rasa/channels/failsafe.py)

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        """Emit the whole response as one event (see the module docstring)."""
        self.escalated = self.escalated or is_escalation(message)
        data = socketio_message(message)
        if data:
            await self._send_message(recipient_id, data)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self._send_message(recipient_id, {"text": text})

    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        await self._send_message(recipient_id, json_message)


class MesoSocketIOInput(SocketIOInput):
    @classmethod
    def name(cls) -> str:
        return "socketio"

    def get_output_channel(self) -> MesoSocketIOOutput | None:
        return MesoSocketIOOutput(self.sio, self.bot_message_evt) if self.sio else None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        resent = ResentMessages(room_replies=True)

        async def with_fixed_output(message: UserMessage) -> None:
            output = MesoSocketIOOutput(self.sio, self.bot_message_evt)
            message.output_channel = output
            message.message_id = client_message_id(message.metadata) or message.message_id

            async def run() -> None:
                await run_or_answer_report(message, on_new_message, lambda: output.escalated)

            with observe_turn(channel_label(message.input_channel, message.metadata)):
                await resent.answer(message, run)

        blueprint = super().blueprint(with_fixed_output)
        resent.follow_tracker_store(blueprint)

        sio = self.sio
        # Live handoff: the relay sends clinicians' lines to the session's room.
        handoff.OUTLETS.sio = sio
        handoff.OUTLETS.namespace = self.namespace or "/"
        blueprint.listener("after_server_start")(handoff.start_relay)
        blueprint.listener("before_server_stop")(handoff.stop_relay)
        replica = os.environ.get(REPLICA_ENV)
        if replica:
            generate = sio.eio.generate_id
            sio.eio.generate_id = lambda: session_id_for_replica(replica, generate())

        @sio.on("session_request", namespace=self.namespace)  # replaces Rasa's handler
        async def session_request(sid: str, data: dict[str, Any] | None) -> None:
            data = data or {}
            if not data.get("session_id"):
                data["session_id"] = uuid.uuid4().hex
            if self.session_persistence:
                await sio.enter_room(sid, data["session_id"], namespace=self.namespace)
            await sio.emit(
                "session_confirm", data["session_id"], room=sid, namespace=self.namespace
            )

        return blueprint
