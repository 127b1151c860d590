"""Who may do what: the one module with CityHub's permission rules.

Each rule is a small function of the principal (and the thing acted on) so that the rules can be read, tested
and changed in one place; services call them and raise Forbidden when they say no.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from hub.auth.principal import Principal
from hub.directory.model import OrgKind, OrgUnit, Person, Role
from hub.docs.model import Attendance, DocRole, Grant, SubjectKind
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


def can_read_attendance(principal: Principal, meeting: Meeting) -> bool:
    """Who reads a meeting's attendance (签到): the chair, the secretary, the organizer, supervisors and admins."""
    return (principal.id in (meeting.chair_id, meeting.secretary_id, meeting.organizer_id)
            or principal.has(Role.SUPERVISOR) or can_administer(principal))


def can_record_decisions(principal: Principal, meeting: Meeting) -> bool:
    """The chair, the secretary and admins record decisions, while the meeting is open for edits."""
    return not meeting.closed_for_edits and meeting.status != MeetingStatus.CANCELLED and (
        principal.id in (meeting.chair_id, meeting.secretary_id) or can_administer(principal)
    )


def can_watch_recording(principal: Principal, meeting: Meeting, *, leader_units: Collection[str], attended: bool,
                        has_items: bool) -> bool:
    """A meeting's recordings: whoever took part in it, the chair's and the secretary's units, the supervisors of
    the items that came from it, admins."""
    if can_administer(principal):
        return True
    if not _is_person(principal):
        return False
    return (attended or principal.id in (meeting.chair_id, meeting.secretary_id, meeting.organizer_id)
            or principal.person.org_unit_id in leader_units or (has_items and can_supervise(principal)))


def can_download_recording(principal: Principal, meeting: Meeting) -> bool:
    """A copy of the archive file: the meeting's chair, secretary and organizer, admins (others watch it here)."""
    return (_is_person(principal) and principal.id in (meeting.chair_id, meeting.secretary_id, meeting.organizer_id)
            or can_administer(principal))


def requires_certificate(principal: Principal, roles: Collection[str]) -> bool:
    """Whether the principal holds a role whose people sign in with their certificate only (server.certificate_
    roles), and did not."""
    return principal.amr != "certificate" and any(role.value in roles for role in principal.roles)


def require_certificate_for(principal: Principal, action: str, actions: Collection[str]) -> None:
    """Refuse an action the settings keep for a certificate sign-in (server.certificate_actions) to anyone who
    signed in otherwise."""
    require(action not in actions or principal.amr == "certificate", "certificate_required",
            f"{action}: sign in with your digital certificate first (/signin/certificate)")


def can_sign_off(principal: Principal) -> bool:
    """Handwritten sign-off (手写签批) of papers one may read is for the leaders: the directory's chair role."""
    return _is_person(principal) and principal.has(Role.CHAIR)


# --- Supervision -------------------------------------------------------------------------------------------------
# Lead-unit members accept, report, submit and ask for more time; supervisors review: return, close, grant or deny
# extensions, cancel. Actions are plain strings here so this module does not depend on the supervision package.
SUPERVISION_LEAD_ACTIONS = frozenset({"accept", "report", "submit", "request_extension"})
SUPERVISION_SUPERVISOR_ACTIONS = frozenset({"return", "close", "grant_extension", "deny_extension", "cancel"})
DECISION_RECORDERS = frozenset({"chair", "secretary"})


def _is_person(principal: Principal) -> bool:
    return principal.person.active and not principal.has(Role.TERMINAL)


def can_read_appraisal(principal: Principal) -> bool:
    """The department appraisal (督查考核) is for supervisors, admins and the leaders who chair meetings."""
    return _is_person(principal) and (principal.has(Role.SUPERVISOR) or principal.has(Role.CHAIR)
                                      or principal.has(Role.ADMIN))


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


# --- calls --------------------------------------------------------------------------------------------------


def can_call(principal: Principal, caller_units: list[OrgUnit], target_units: list[OrgUnit]) -> bool:
    """Video phone: any active official may call anyone; a terminal may call its own district and the departments.

    The unit lists run from the caller's (or the callee's / duty line's) own unit up to the city.
    """
    if not principal.person.active:
        return False
    if principal.has(Role.OFFICIAL):
        return True
    if principal.has(Role.TERMINAL):
        district = next((unit.id for unit in caller_units if unit.kind is OrgKind.DISTRICT), None)
        if district is not None and any(unit.id == district for unit in target_units):
            return True
        return any(unit.kind is OrgKind.DEPARTMENT for unit in target_units)
    return False
# --- documents -----------------------------------------------------------------------------------------------


def doc_role(person_id: str, unit_id: str, *, created_by: str | None, grants: Iterable[Grant],
             attendance: Attendance | None = None) -> DocRole | None:
    """What a person may do with a document: the strongest of what its creator status, the meeting and the
    grants (to the person, or to the person's own org unit) give; None is no access at all."""
    if created_by is not None and created_by == person_id:
        return DocRole.EDITOR
    roles = set()
    if attendance is Attendance.PARTICIPANT:
        roles.add(DocRole.EDITOR)
    elif attendance is Attendance.OBSERVER:
        roles.add(DocRole.READER)
    for grant in grants:
        if (grant.kind is SubjectKind.PERSON and grant.subject_id == person_id) or (
                grant.kind is SubjectKind.UNIT and grant.subject_id == unit_id):
            roles.add(grant.role)
    if DocRole.EDITOR in roles:
        return DocRole.EDITOR
    return DocRole.READER if roles else None


def can_manage_doc(role: DocRole | None) -> bool:
    """Editors rename and share a document and save and restore its versions; readers only read."""
    return role is DocRole.EDITOR


def can_create_doc_for(principal: Principal, unit_id: str) -> bool:
    """A person creates documents for their own org unit; admins for any unit. Terminals create none."""
    if principal.has(Role.TERMINAL) and not can_administer(principal):
        return False
    return principal.org_unit.id == unit_id or can_administer(principal)


def minutes_attendance(person: Person, meeting: Meeting) -> Attendance | None:
    """Who works on a meeting's minutes: the invited (in person, through their unit, or holding a role in it)
    edit them until the meeting is closed for edits or cancelled, and read them afterwards; supervisors read."""
    invited = (
        person.id in meeting.invited_people
        or person.org_unit_id in meeting.invited_units
        or person.id in (meeting.chair_id, meeting.secretary_id, meeting.organizer_id)
    )
    if invited:
        final = meeting.closed_for_edits or meeting.status is MeetingStatus.CANCELLED
        return Attendance.OBSERVER if final else Attendance.PARTICIPANT
    if Role.SUPERVISOR in person.roles:
        return Attendance.OBSERVER
    return None
