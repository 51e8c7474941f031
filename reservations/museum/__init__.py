"""How the museum presents itself: address, hours, directions and the notices admins post."""
