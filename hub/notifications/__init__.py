"""Notifications: what a person should hear of (invited, a meeting changed or starting, an item assigned, returned,
closed, overdue, the floor granted), stored per person, pushed live over /ws, listed and marked read."""
