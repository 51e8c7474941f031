"""Scheduled operations: no-shows, closing time, reminders, data retention, team expiry.

Each job is idempotent and safe to run again or concurrently; the scheduler runs each
scheduled occurrence exactly once across workers and machines by claiming it in the
database, and every run is recorded for admins.
"""
