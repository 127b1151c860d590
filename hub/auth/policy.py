"""Who may do what: the one module with CityHub's permission rules.

Each rule is a small function of the principal (and the thing acted on) so that the rules can be read, tested
and changed in one place; services call them and raise Forbidden when they say no.
"""

from __future__ import annotations

from collections.abc import Iterable

from hub.auth.principal import Principal
from hub.directory.model import Role
from hub.docs.model import Attendance, DocRole, Grant, SubjectKind
from hub.errors import Forbidden


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
