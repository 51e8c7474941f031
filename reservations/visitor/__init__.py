"""The visitor's pages: the calendar, the booking form, the tickets and "my bookings"."""
