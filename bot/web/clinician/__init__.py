"""Clinician inbox at /clinician: staff sign in, see escalated tickets, acknowledge, resolve."""
