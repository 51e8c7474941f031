"""Scheduling: when each job runs (no-shows, closing time, reminders, data retention, team
expiry, ...); what a job does lives with its domain.

Each job is idempotent and safe to run again or concurrently; the scheduler runs each
scheduled occurrence exactly once across workers and machines by claiming it in the
database, and every run is recorded for admins.
"""
