"""A stand-in for Rasa's socket.io channel, for browser tests that must control the server
(offline at page load, restart, in-flight guard, escaping) and for UI development.

It speaks the protocol of rasa/core/channels/socketio.py with session_persistence: true:
session_request -> session_confirm (the client's id, or a new one) and joins that room;
user_uttered -> one bot_uttered event per reply, exactly as our socket.io channel sends a
`Reply.rasa_message()` ({"text", "quick_replies", "meso"}, built by the real
`bot.channels.output.socketio_message`). Replies are built with the real
`bot.replies.reply.Reply`, so the envelopes follow the contract.

A message starting "plain text" gets a text-only event (no envelope), as a response written
without `custom` would arrive. One starting "hostile notice" gets an answer whose privacy
notice (envelope `notice`) holds markup and a `javascript:` link, and one starting "notice"
a well-formed notice (bot/replies/notice.py). GET /_events returns what the server received,
for assertions.

Languages: a message in Devanagari or Arabic script, or one sent with metadata `lang` (the
switch) or else `page_lang` hi/ar, gets a Hindi or Arabic reply (envelope `lang` hi/ar); a
message with "english" in it gets English whatever the metadata says.

Run: python tests/browser/fake_rasa.py --port 5005 [--delay 0.5]
(tests pass `--fd N` instead: a bound socket inherited from the harness, see harness.py)
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
import uuid
from pathlib import Path
from typing import Any

import socketio
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bot.channels.output import socketio_message  # noqa: E402
from bot.evidence.notes import EvidenceNote  # noqa: E402
from bot.replies.notice import PrivacyNotice, with_notice  # noqa: E402
from bot.replies.reply import Button, Citation, Escalation, Reply  # noqa: E402

PHONE = "+91 80 4000 1234"
HOSTILE_NOTICE = PrivacyNotice(
    text="<img src=x onerror=\"document.title='pwned'\"> Kept <b>30</b> days.",
    link_label="<script>document.title='pwned'</script>Policy",
    policy_url="javascript:document.title='pwned'",
    lang="en",
)
NOTICE = PrivacyNotice(
    text="Your privacy: the clinic keeps this conversation for 30 days.",
    link_label="Privacy policy",
    policy_url="https://clinic.example/privacy",
    lang="en",
)
PLAIN_TEXT = {
    "text": "A **plain** reply.\n\nIts second paragraph.",
    "quick_replies": [{"content_type": "text", "title": "Cost", "payload": "/ask_cost"}],
}
EMERGENCY = "112"

CITATIONS = (
    Citation("sample_clinic_page", "Sample clinic price page", "sample_1.txt", "clinic_marketing"),
    Citation(
        "sample_summary", "Sample encyclopaedia summary", "sample_2.txt", "encyclopaedic_summary"
    ),
)
NOTE = EvidenceNote("sample", "Sample evidence note: the studies behind this are few and small.")


def reply_for(text: str) -> list[Reply]:
    """The fake bot's answer: a few keyword-chosen samples, otherwise an echo of the text."""
    lowered = text.lower()
    if "swell" in lowered or "breathe" in lowered:
        escalation = Escalation("emergency", "T-0001", EMERGENCY, PHONE)
        return [
            Reply(
                "escalation",
                "Swelling with trouble breathing needs help **right now**.\n"
                "Don't wait for a reply here.",
                escalation=escalation,
            )
        ]
    if "fever" in lowered:
        escalation = Escalation("urgent", "T-0002", EMERGENCY, PHONE)
        return [
            Reply(
                "escalation",
                "A fever after a treatment should be checked today.",
                escalation=escalation,
            )
        ]
    if "bruise" in lowered:
        escalation = Escalation("routine", "T-0003", EMERGENCY, PHONE)
        return [
            Reply(
                "escalation",
                "Some bruising is common. We have told the team.",
                escalation=escalation,
            )
        ]
    if "cost" in lowered or "price" in lowered:
        body = (
            "Prices differ from clinic to clinic. What you pay depends on:\n"
            "- the area treated\n- the number of sessions\n\n"
            "**At this clinic:** INR 12,000 per face session."
        )
        return [Reply("answer", body, topic="cost", citations=CITATIONS)]
    if "regrow" in lowered or "hair" in lowered:
        body = "Some clinics offer it for thinning hair, but results differ a lot between people."
        return [
            Reply(
                "answer",
                body,
                topic="hair_growth",
                efficacy=True,
                evidence_note=NOTE,
                citations=CITATIONS,
            )
        ]
    if lowered in {"hi", "hello", "/greet"}:
        buttons = (Button("Cost", "/ask_cost"), Button("Side effects", "/ask_side_effects"))
        return [Reply("chitchat", "Hello! What would you like to know?", buttons=buttons)]
    if lowered.startswith("/ask_"):
        topic = lowered.removeprefix("/ask_")
        return [
            Reply(
                "answer",
                f"Here is what the sources say about {topic}.",
                topic=topic,
                citations=CITATIONS,
            )
        ]
    echo = Citation("echo", f"Echo of {text}", "echo.txt", "clinic_marketing")
    return [Reply("answer", f"You wrote: {text}", topic="echo", citations=(echo,))]


LOCAL_NOTES = {
    "hi": EvidenceNote("sample", "नमूना टिप्पणी: इसके पीछे के अध्ययन कम और छोटे हैं।"),
    "ar": EvidenceNote("sample", "ملاحظة نموذجية: الدراسات التي تدعم ذلك قليلة وصغيرة."),
}
LOCAL_CITATIONS = {
    "hi": (
        Citation(
            "sample_clinic_page", "क्लिनिक का नमूना मूल्य पृष्ठ", "sample_1.txt", "clinic_marketing"
        ),
    ),
    "ar": (
        Citation(
            "sample_clinic_page", "صفحة أسعار نموذجية لعيادة", "sample_1.txt", "clinic_marketing"
        ),
    ),
}
LOCAL_ANSWERS = {
    "hi": "हर क्लिनिक में दाम अलग होते हैं। आप कितना देंगे, यह इन पर निर्भर है:\n"
    "- इलाज वाला हिस्सा\n- सेशन की संख्या\n\n**इस क्लिनिक में:** चेहरे के एक सेशन के INR 12,000।",
    "ar": "تختلف الأسعار من عيادة إلى أخرى. ويعتمد ما تدفعه على:\n"
    "- المنطقة المعالَجة\n- عدد الجلسات\n\n**في هذه العيادة:** 12,000 روبية لجلسة الوجه.",
}
LOCAL_EMERGENCIES = {
    "hi": "साँस लेने में तकलीफ़ के साथ सूजन में **तुरंत** मदद चाहिए।",
    "ar": "التورّم مع صعوبة التنفس يحتاج إلى مساعدة **فورًا**.",
}
LOCAL_BUTTONS = {
    "hi": (Button("ख़र्च", "/ask_cost"), Button("साइड इफ़ेक्ट", "/ask_side_effects")),
    "ar": (Button("التكلفة", "/ask_cost"), Button("الآثار الجانبية", "/ask_side_effects")),
}


def reply_language(text: str, metadata: dict[str, Any]) -> str:
    """hi or ar for a message in that script or with that language in its metadata, else en."""
    if "english" in text.lower():
        return "en"
    if any("\u0900" <= c <= "\u097f" for c in text):
        return "hi"
    if any("\u0600" <= c <= "\u06ff" for c in text):
        return "ar"
    lang = metadata.get("lang") or metadata.get("page_lang")
    return lang if lang in LOCAL_ANSWERS else "en"


def local_reply_for(text: str, lang: str) -> list[Reply]:
    """The fake bot's Hindi or Arabic answer: an emergency, a greeting, or a price answer."""
    lowered = text.lower()
    if any(w in lowered for w in ("swell", "सूज", "تورم", "تورّم")):
        escalation = Escalation("emergency", "T-0004", EMERGENCY, PHONE, reference="A7K2")
        return [Reply("escalation", LOCAL_EMERGENCIES[lang], escalation=escalation, lang=lang)]
    if lowered in {"hi", "hello", "/greet", "नमस्ते", "مرحبا"}:
        body = "नमस्ते! आप क्या जानना चाहेंगे?" if lang == "hi" else "مرحبًا! ماذا تودّ أن تعرف؟"
        return [Reply("chitchat", body, buttons=LOCAL_BUTTONS[lang], lang=lang)]
    return [
        Reply(
            "answer",
            LOCAL_ANSWERS[lang],
            topic="cost",
            efficacy=True,
            evidence_note=LOCAL_NOTES[lang],
            citations=LOCAL_CITATIONS[lang] + CITATIONS[1:],
            lang=lang,
        )
    ]


def build_app(delay: float) -> web.Application:
    sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins="*")
    app = web.Application()
    sio.attach(app)
    events: list[dict[str, Any]] = []

    @sio.on("session_request")
    async def session_request(sid: str, data: dict[str, Any] | None) -> None:
        data = data or {}
        events.append({"event": "session_request", "data": data})
        session_id = data.get("session_id") or uuid.uuid4().hex
        await sio.enter_room(sid, session_id)
        await sio.emit("session_confirm", session_id, room=sid)

    @sio.on("user_uttered")
    async def user_uttered(sid: str, data: dict[str, Any]) -> None:
        events.append({"event": "user_uttered", "data": data})
        session_id = data.get("session_id")
        if not session_id:
            return
        await asyncio.sleep(delay)
        if str(data.get("message", "")).startswith("plain text"):
            await sio.emit("bot_uttered", PLAIN_TEXT, room=session_id)
            return
        text = str(data.get("message", ""))
        if text.startswith(("hostile notice", "notice")):
            notice = HOSTILE_NOTICE if text.startswith("hostile") else NOTICE
            message = with_notice(reply_for("how much does it cost")[0].rasa_message(), notice)
            await sio.emit("bot_uttered", socketio_message(message), room=session_id)
            return
        metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
        lang = reply_language(text, metadata)
        replies = reply_for(text) if lang == "en" else local_reply_for(text, lang)
        for reply in replies:
            await sio.emit("bot_uttered", socketio_message(reply.rasa_message()), room=session_id)

    async def list_events(request: web.Request) -> web.Response:
        return web.json_response(events)

    app.router.add_get("/_events", list_events)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5005)
    parser.add_argument("--fd", type=int, help="listen on this inherited, bound socket instead")
    parser.add_argument("--delay", type=float, default=0.2)
    args = parser.parse_args()
    if args.fd is not None:
        sock = socket.socket(fileno=args.fd)
        web.run_app(build_app(args.delay), sock=sock, print=None)
    else:
        web.run_app(build_app(args.delay), host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
