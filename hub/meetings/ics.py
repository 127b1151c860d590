"""An iCalendar (RFC 5545) event for a meeting, for officials' calendars, written by the `icalendar` package
(escaping, parameter quoting, line folding: a name like "Smith, John; Jr." stays one ORGANIZER for strict
parsers)."""

from __future__ import annotations

from datetime import UTC, datetime

from icalendar import Calendar, Event, vCalAddress

from hub.meetings.model import Meeting, MeetingStatus


def meeting_ics(meeting: Meeting, *, url: str, organizer_name: str, now: datetime, host: str) -> str:
    """The meeting as a VCALENDAR with one VEVENT (cancelled meetings say so)."""
    calendar = Calendar()
    calendar.add("prodid", "-//CityHub//Meetings//ZH")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", f"{meeting.id}@{host}")
    event.add("dtstamp", now.astimezone(UTC))
    event.add("dtstart", meeting.starts_at.astimezone(UTC))
    event.add("dtend", meeting.ends_at.astimezone(UTC))
    event.add("summary", meeting.title)
    event.add("description", (meeting.description + "\n\n" if meeting.description else "") + url)
    event.add("url", url)
    organizer = vCalAddress(f"urn:cityhub:person:{meeting.organizer_id}")
    organizer.params["cn"] = organizer_name
    event.add("organizer", organizer)
    event.add("status", "CANCELLED" if meeting.status == MeetingStatus.CANCELLED else "CONFIRMED")
    calendar.add_component(event)
    return calendar.to_ical().decode()
