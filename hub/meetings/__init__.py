"""Meetings: schedule, invitations, roles, lobby, moderation, lifecycle, chat history."""
