"""The cluster profile: PostgreSQL, Redis, nginx and several replicas under one supervisor."""
