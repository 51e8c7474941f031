"""What every HTML page shares: templates, translations, sessions, CSRF, error pages."""
