"""A fair waiting list for sold-out days: join, be offered a returned place, confirm."""
