"""Starting and stopping the scheduler with the web process."""

from __future__ import annotations


def start() -> None:
    """Start the background scheduler of this process."""


def stop() -> None:
    """Stop the background scheduler of this process."""
