"""Erasure of one conversation, on the patient's request (chat) or a clinician's (inbox).

The job is recorded (`ErasureJob`, status "pending") before any place is touched; then each
registered place erases (bot/privacy/registry.py) and its name is added to `steps_done` in a
transaction of its own. Every step is idempotent, so a crash anywhere leaves a pending job that
the worker's next pass (`resume_pending`) finishes from the first step not done: at once after a
failed step, and after IN_PROGRESS_GRACE for a job whose run never reported back (a crash).

A ticket an open emergency or urgent report keeps is held (`ErasureHold`): the job is
"holding" until a clinician resolves that ticket, and `release_on_resolve` (called by
bot/tickets/lifecycle.py inside the resolve transaction) erases it then.

One job per conversation (`conversation_key`, the id's SHA-256): a request while one is under
way reuses it; a later request runs the same job again over what was said since. Audit rows
name the places and counts, never content; the conversation id is dropped from the job once it
is no longer needed.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from bot.privacy.holds import (
    DONE,
    HOLDING,
    finish_if_unheld,
    release_on_resolve,
)
from bot.privacy.registry import Place, PrivacyContext, places
from bot.privacy.ticket_data import held_ticket_ids
from bot.storage.models import ErasureHold, ErasureJob, Ticket, utcnow
from bot.tickets import audit
from bot.tickets.states import ACTIVE_STATUSES

logger = logging.getLogger(__name__)

PENDING = "pending"
# A pending job with no failed step, requested less than this ago, is being run by the request
# that recorded it; the worker running it too would race that run over the same places (seen in
# the end-to-end erasure tests, with the worker's 1 s pass under load: the patient was told the
# erasure had not finished).
IN_PROGRESS_GRACE = timedelta(seconds=60)

ERASURE_REQUESTED = "erasure_requested"
ERASURE_DONE = "erasure_done"
PATIENT_ACTOR = "patient"
WORKER_ACTOR = "privacy-worker"


@dataclass(frozen=True)
class ErasureOutcome:
    """`counts`: items removed per place in this run; `held`: ticket ids kept until resolved;
    `finished`: every step ran (False: the worker will finish it); `repeated`: the request
    joined a job already under way."""

    job_id: str
    counts: dict[str, int] = field(default_factory=dict)
    held: tuple[str, ...] = ()
    finished: bool = True
    repeated: bool = False

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def conversation_key(conversation_id: str) -> str:
    return hashlib.sha256(conversation_id.encode("utf-8")).hexdigest()


def request_erasure(
    ctx: PrivacyContext, conversation_id: str, requested_by: str = PATIENT_ACTOR
) -> ErasureOutcome:
    """Record the erasure of `conversation_id` and run it now. A step that fails leaves the job
    pending for the worker (`finished` False); storage errors while recording propagate."""
    job_id, repeated = _record_job(ctx, conversation_id, requested_by)
    if repeated:
        return _summary(ctx, job_id, repeated=True)
    return run_job(ctx, job_id)


def _record_job(ctx: PrivacyContext, conversation_id: str, requested_by: str) -> tuple[str, bool]:
    """(job id, whether a job for this conversation was already pending). A finished job is
    started again (same row) so that what was said since it ran is erased too."""
    key = conversation_key(conversation_id)
    for _ in range(2):
        try:
            with ctx.db.session() as session:
                job = session.execute(
                    select(ErasureJob).where(ErasureJob.conversation_key == key)
                ).scalar_one_or_none()
                if job is not None and job.status == PENDING:
                    return job.id, True
                if job is None:
                    job = ErasureJob(conversation_key=key, steps_done=[], counts={}, attempts=0)
                    session.add(job)
                job.conversation_id = conversation_id
                job.requested_by = requested_by[:64]
                job.requested_at = utcnow()
                job.status = PENDING
                job.steps_done = []
                job.counts = {}
                job.finished_at = None
                job.last_error = None
                session.flush()
                audit.add(session, requested_by, ERASURE_REQUESTED, None, f"job={job.id}")
                return job.id, False
        except IntegrityError:
            continue  # a concurrent request recorded it first: take that one
    raise RuntimeError("could not record the erasure job")


def run_job(
    ctx: PrivacyContext, job_id: str, registered: tuple[Place, ...] | None = None
) -> ErasureOutcome:
    """Run the steps of a pending job not yet done, then hold or finish it."""
    with ctx.db.session() as session:
        job = session.get(ErasureJob, job_id)
        if job is None or job.status != PENDING or job.conversation_id is None:
            return _summary(ctx, job_id)
        conversation_id, done = job.conversation_id, list(job.steps_done or [])
    for place in registered or places():
        if place.name in done:
            continue
        try:
            count = place.erase(ctx, conversation_id)
        except Exception as exc:  # left pending: the worker tries again
            logger.error("erasure %s: step %s failed (%s)", job_id, place.name, type(exc).__name__)
            _note_failure(ctx, job_id, place.name, exc)
            return _summary(ctx, job_id)
        with ctx.db.session() as session:
            job = session.get(ErasureJob, job_id)
            job.steps_done = [*job.steps_done, place.name]
            job.counts = {**job.counts, place.name: count}
        done.append(place.name)
    _finish(ctx, job_id, conversation_id)
    ctx.compact()
    return _summary(ctx, job_id)


def _note_failure(ctx: PrivacyContext, job_id: str, step: str, exc: Exception) -> None:
    try:
        with ctx.db.session() as session:
            job = session.get(ErasureJob, job_id)
            job.attempts += 1
            job.last_error = f"{step}: {type(exc).__name__}"[:200]
    except Exception:  # the database itself is down: the job is still pending
        logger.error("erasure %s: could not record the failure", job_id)


def _finish(ctx: PrivacyContext, job_id: str, conversation_id: str) -> None:
    with ctx.db.session() as session:
        job = session.get(ErasureJob, job_id)
        held = held_ticket_ids(session, conversation_id)
        for ticket_id in held:
            if session.get(ErasureHold, ticket_id) is None:
                session.add(ErasureHold(ticket_id=ticket_id, erasure_id=job_id))
        job.status = HOLDING if held else DONE
        job.conversation_id = None
        job.finished_at = None if held else utcnow()
        counts = " ".join(f"{name}={n}" for name, n in sorted(job.counts.items()))
        audit.add(
            session,
            job.requested_by,
            ERASURE_DONE,
            None,
            f"job={job_id} {counts} held_tickets={len(held)}",
        )


def _summary(ctx: PrivacyContext, job_id: str, repeated: bool = False) -> ErasureOutcome:
    with ctx.db.session() as session:
        job = session.get(ErasureJob, job_id)
        held = session.execute(
            select(ErasureHold.ticket_id).where(ErasureHold.erasure_id == job_id)
        ).scalars()
        return ErasureOutcome(
            job_id=job_id,
            counts=dict(job.counts or {}) if job else {},
            held=tuple(held),
            finished=job is not None and job.status != PENDING,
            repeated=repeated,
        )


def resume_pending(ctx: PrivacyContext) -> int:
    """The worker's pass: finish every pending job left over (a step failed, or its run never
    reported back within IN_PROGRESS_GRACE), and release holds whose ticket is no longer active
    (resolved by a path that did not release it). Returns how many jobs it finished."""
    left_over = (ErasureJob.attempts > 0) | (ErasureJob.requested_at < utcnow() - IN_PROGRESS_GRACE)
    with ctx.db.session() as session:
        pending = list(
            session.execute(
                select(ErasureJob.id).where(ErasureJob.status == PENDING, left_over)
            ).scalars()
        )
        stale = list(
            session.execute(
                select(ErasureHold.ticket_id)
                .join(Ticket, Ticket.id == ErasureHold.ticket_id, isouter=True)
                .where((Ticket.id.is_(None)) | Ticket.status.not_in(ACTIVE_STATUSES))
            ).scalars()
        )
    for ticket_id in stale:
        with ctx.db.session() as session:
            hold = session.get(ErasureHold, ticket_id)
            if hold is None:
                continue
            if session.get(Ticket, ticket_id) is None:
                session.execute(delete(ErasureHold).where(ErasureHold.ticket_id == ticket_id))
                finish_if_unheld(session, hold.erasure_id)
            else:
                release_on_resolve(session, ticket_id, WORKER_ACTOR)
    finished = 0
    for job_id in pending:
        if run_job(ctx, job_id).finished:
            finished += 1
    return finished


def pending_count(ctx: PrivacyContext) -> int:
    with ctx.db.session() as session:
        return session.execute(
            select(func.count()).select_from(ErasureJob).where(ErasureJob.status == PENDING)
        ).scalar_one()
