"""The museum's desk: booking for visitors without a smartphone (walk-ins today, later days
as online), printing their tickets, and what is booked under a visitor's document."""
