"""Operating the service for years: metrics, readiness, backups and the consistency check."""
