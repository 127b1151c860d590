"""An iCalendar (RFC 5545) event for a meeting, for officials' calendars."""

from __future__ import annotations

from datetime import UTC, datetime

from hub.meetings.model import Meeting, MeetingStatus


def _escape(text: str) -> str:
    text = text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return text.replace("\r\n", "\\n").replace("\n", "\\n")


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _fold(line: str) -> list[str]:
    # Lines longer than 75 octets are folded (RFC 5545 3.1), never inside a UTF-8 character.
    out: list[str] = []
    current = ""
    for char in line:
        if len((current + char).encode()) > (75 if not out else 74):
            out.append(current)
            current = char
        else:
            current += char
    out.append(current)
    return [out[0], *(" " + part for part in out[1:])]


def meeting_ics(meeting: Meeting, *, url: str, organizer_name: str, now: datetime, host: str) -> str:
    """The meeting as a VCALENDAR with one VEVENT (cancelled meetings say so)."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//CityHub//Meetings//ZH",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:{meeting.id}@{host}",
        f"DTSTAMP:{_stamp(now)}",
        f"DTSTART:{_stamp(meeting.starts_at)}",
        f"DTEND:{_stamp(meeting.ends_at)}",
        f"SUMMARY:{_escape(meeting.title)}",
        f"DESCRIPTION:{_escape((meeting.description + chr(10) + chr(10) if meeting.description else '') + url)}",
        f"URL:{url}",
        f"ORGANIZER;CN={_escape(organizer_name)}:urn:cityhub:person:{meeting.organizer_id}",
        "STATUS:" + ("CANCELLED" if meeting.status == MeetingStatus.CANCELLED else "CONFIRMED"),
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    folded = [part for line in lines for part in _fold(line)]
    return "\r\n".join(folded) + "\r\n"
