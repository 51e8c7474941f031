"""Protection against floods and bots on the public booking endpoints."""
