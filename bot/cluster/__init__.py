"""The cluster profile: PostgreSQL, Redis, nginx and several replicas under one supervisor."""

REPLICA_ENV = "MESO_REPLICA"  # a Rasa replica's name (rasa-1, …), set by the cluster profile


def session_id_for_replica(replica: str, session_id: str) -> str:
    """An engine.io session id that nginx routes back to `replica` (deploy/nginx/meso.conf.j2)."""
    return f"{replica}.{session_id}"
