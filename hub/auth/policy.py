"""Who may do what: the one module with CityHub's permission rules.

Each rule is a small function of the principal (and the thing acted on) so that the rules can be read, tested
and changed in one place; services call them and raise Forbidden when they say no.
"""

from __future__ import annotations

from hub.auth.principal import Principal
from hub.directory.model import Role
from hub.errors import Forbidden
from hub.meetings.model import Meeting, MeetingStatus


def require(allowed: bool, code: str, message: str) -> None:
    """Raise Forbidden with this code unless allowed."""
    if not allowed:
        raise Forbidden(code, message)


def can_administer(principal: Principal) -> bool:
    """Admins import the directory, revoke tokens and (de)activate people."""
    return principal.has(Role.ADMIN)


def can_read_directory(principal: Principal) -> bool:
    """Every authenticated person and terminal may look people up (to call or invite them)."""
    return principal.person.active


def can_revoke(principal: Principal, token_subject: str | None) -> bool:
    """Admins revoke any token; anyone may revoke their own."""
    return can_administer(principal) or (token_subject is not None and token_subject == principal.id)


# --- meetings -----------------------------------------------------------------------------------------------


def can_create_meeting(principal: Principal) -> bool:
    """Any active official schedules meetings; office terminals do not."""
    return principal.person.active and not principal.has(Role.TERMINAL)


def can_manage_meeting(principal: Principal, meeting: Meeting) -> bool:
    """The organizer, the chair and admins change or cancel a meeting."""
    return principal.id in (meeting.organizer_id, meeting.chair_id) or can_administer(principal)


def can_moderate_meeting(principal: Principal, meeting: Meeting) -> bool:
    """The chair and admins mute, remove, lock, admit and end."""
    return principal.id == meeting.chair_id or can_administer(principal)


def is_invited(principal: Principal, meeting: Meeting) -> bool:
    """Invited in person, a member of an invited unit, or holding a role in the meeting."""
    return (
        principal.id in meeting.invited_people
        or principal.org_unit.id in meeting.invited_units
        or principal.id in (meeting.chair_id, meeting.secretary_id, meeting.organizer_id)
    )


def can_see_meeting(principal: Principal, meeting: Meeting) -> bool:
    """Who may read a meeting's details: whoever may join it without the lobby, supervisors and admins."""
    return is_invited(principal, meeting) or principal.has(Role.SUPERVISOR) or can_administer(principal)


def bypasses_lock(principal: Principal, meeting: Meeting) -> bool:
    """Who still gets in when the meeting is locked."""
    return principal.id in (meeting.chair_id, meeting.organizer_id, meeting.secretary_id) or can_administer(principal)


def can_record_decisions(principal: Principal, meeting: Meeting) -> bool:
    """The chair, the secretary and admins record decisions, while the meeting is open for edits."""
    return not meeting.closed_for_edits and meeting.status != MeetingStatus.CANCELLED and (
        principal.id in (meeting.chair_id, meeting.secretary_id) or can_administer(principal)
    )


# --- Supervision -------------------------------------------------------------------------------------------------
# Lead-unit members accept, report, submit and ask for more time; supervisors review: return, close, grant or deny
# extensions, cancel. Actions are plain strings here so this module does not depend on the supervision package.
SUPERVISION_LEAD_ACTIONS = frozenset({"accept", "report", "submit", "request_extension"})
SUPERVISION_SUPERVISOR_ACTIONS = frozenset({"return", "close", "grant_extension", "deny_extension", "cancel"})
DECISION_RECORDERS = frozenset({"chair", "secretary"})


def _is_person(principal: Principal) -> bool:
    return principal.person.active and not principal.has(Role.TERMINAL)


def can_supervise(principal: Principal) -> bool:
    """Supervisors review follow-ups, see every item and the dashboard, and rate departments."""
    return _is_person(principal) and principal.has(Role.SUPERVISOR)


def is_unit_member(principal: Principal, unit_id: str) -> bool:
    """Whether the principal is a person of this org unit."""
    return _is_person(principal) and principal.person.org_unit_id == unit_id


def can_view_unit_items(principal: Principal, unit_id: str) -> bool:
    """A department's view: its own members, supervisors and admins."""
    return is_unit_member(principal, unit_id) or can_supervise(principal) or can_administer(principal)


def can_view_item(
    principal: Principal, *, lead_unit: str, coop_units: tuple[str, ...], responsible: str, recorded_by: str
) -> bool:
    """An item is seen by supervisors and admins, the units on it, its responsible person and its recorder."""
    if can_supervise(principal) or can_administer(principal):
        return True
    if not _is_person(principal):
        return False
    return (
        principal.person.org_unit_id == lead_unit
        or principal.person.org_unit_id in coop_units
        or principal.id in (responsible, recorded_by)
    )


def can_act_on_item(principal: Principal, action: str, *, lead_unit: str) -> bool:
    """Whether the principal may take this supervision action on an item led by `lead_unit`."""
    if action in SUPERVISION_LEAD_ACTIONS:
        return is_unit_member(principal, lead_unit)
    if action in SUPERVISION_SUPERVISOR_ACTIONS:
        return can_supervise(principal)
    return False


def can_record_decision(principal: Principal, meeting_role: str | None) -> bool:
    """The chair or the secretary of a meeting records its decisions."""
    return _is_person(principal) and meeting_role in DECISION_RECORDERS
