class DeliveryFailed(Exception):
    """A message could not be sent. ``reason`` is a code; it never quotes an address."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# DeliveryFailed.reason
NO_CHANNEL = "no_channel"  # no address for any configured channel
REFUSED = "refused"  # the server or gateway rejected this message or recipient
UNAVAILABLE = "unavailable"  # the server or gateway could not be reached or failed
