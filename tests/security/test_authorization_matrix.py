"""Who may do what, over REST, written out case by case (what held when the hub was attacked keeps holding).

People: the chair (谢继成, 市公用事业局), a member of the invited unit, an outsider of another department, a
meeting-room terminal, a supervisor and an admin. Each case: who, method, path, body -> the status expected.
"""

from __future__ import annotations

from typing import Any

from tests.conftest import Hub
from tests.meetings.conftest import create_meeting

CHAIR, MEMBER, OUTSIDER, TERMINAL = "p-xie", "pub-util-04", "finance-04", "shinan-office-term"
SUPERVISOR, ADMIN = "supervision-01", "bigdata-04"

NEW_MEETING = {"title": "越权会议", "chair": OUTSIDER, "starts_at": "2031-01-01T09:00:00+08:00",
               "ends_at": "2031-01-01T10:00:00+08:00"}

# (who, method, path, body, status); {m} is the meeting (chair CHAIR, unit pub-util invited), {d} its minutes.
CASES: list[tuple[str | None, str, str, Any, int]] = [
    (None, "GET", "/api/v1/meetings", None, 401),
    (None, "GET", "/api/v1/meetings/{m}", None, 401),
    (None, "POST", "/api/v1/meetings", NEW_MEETING, 401),
    (None, "GET", "/api/v1/directory/people", None, 401),
    (None, "GET", "/api/v1/docs/{d}", None, 401),
    (CHAIR, "GET", "/api/v1/meetings/{m}", None, 200),
    (MEMBER, "GET", "/api/v1/meetings/{m}", None, 200),
    (OUTSIDER, "GET", "/api/v1/meetings/{m}", None, 404),  # not even its existence
    (SUPERVISOR, "GET", "/api/v1/meetings/{m}", None, 200),
    (ADMIN, "GET", "/api/v1/meetings/{m}", None, 200),
    (MEMBER, "PATCH", "/api/v1/meetings/{m}", {"title": "改"}, 403),
    (OUTSIDER, "PATCH", "/api/v1/meetings/{m}", {"title": "改"}, 404),
    (TERMINAL, "POST", "/api/v1/meetings", NEW_MEETING, 403),
    (MEMBER, "POST", "/api/v1/meetings/{m}/cancel", None, 403),
    (OUTSIDER, "POST", "/api/v1/meetings/{m}/cancel", None, 404),
    (MEMBER, "POST", "/api/v1/meetings/{m}/close", None, 403),
    (MEMBER, "POST", "/api/v1/meetings/{m}/spotlight", {"person": MEMBER}, 403),
    (OUTSIDER, "POST", "/api/v1/meetings/{m}/spotlight", {"person": OUTSIDER}, 403),
    (MEMBER, "DELETE", "/api/v1/meetings/{m}/spotlight", None, 403),
    (MEMBER, "GET", "/api/v1/meetings/{m}/attendance", None, 403),
    (OUTSIDER, "GET", "/api/v1/meetings/{m}/attendance", None, 404),
    (CHAIR, "GET", "/api/v1/meetings/{m}/attendance", None, 200),
    (SUPERVISOR, "GET", "/api/v1/meetings/{m}/attendance", None, 200),
    (OUTSIDER, "GET", "/api/v1/meetings/{m}/calendar.ics", None, 404),
    # documents and decisions say "not yours" (403) where meetings hide themselves (404)
    (OUTSIDER, "GET", "/api/v1/meetings/{m}/decisions", None, 403),
    (MEMBER, "POST", "/api/v1/meetings/{m}/decisions",
     {"text": "x", "lead_unit": "pub-util", "responsible": MEMBER, "due_date": "2031-01-01"}, 403),
    (OUTSIDER, "GET", "/api/v1/docs/{d}", None, 403),
    (MEMBER, "GET", "/api/v1/docs/{d}", None, 200),
    (OUTSIDER, "PATCH", "/api/v1/docs/{d}", {"title": "改"}, 403),
    (OUTSIDER, "PUT", "/api/v1/docs/{d}/access", {"editors": [], "readers": []}, 403),
    (TERMINAL, "PUT", "/api/v1/docs/{d}/access", {"editors": [], "readers": []}, 403),
    (OUTSIDER, "GET", "/api/v1/docs/{d}/export?format=md", None, 403),
    (OUTSIDER, "GET", "/api/v1/docs/{d}/versions", None, 403),
    (MEMBER, "PUT", "/api/v1/directory/people/pub-util-02/active", {"active": False}, 403),
    (CHAIR, "PUT", "/api/v1/directory/people/pub-util-02/active", {"active": False}, 403),
    (SUPERVISOR, "PUT", "/api/v1/directory/people/pub-util-02/active", {"active": False}, 403),
    (MEMBER, "POST", "/api/v1/directory/import", {"org_units": [], "people": []}, 403),
    (MEMBER, "POST", "/api/v1/admin/tokens/revoke", {"jti": "x" * 32}, 403),
    (CHAIR, "POST", "/api/v1/admin/tokens/revoke", {"jti": "x" * 32}, 403),
    (MEMBER, "GET", "/api/v1/supervision/dashboard", None, 403),
    (MEMBER, "GET", "/api/v1/supervision/audit/verify", None, 403),
    (MEMBER, "GET", "/api/v1/supervision/webhooks/deliveries", None, 403),
    (SUPERVISOR, "GET", "/api/v1/supervision/dashboard", None, 200),
    (OUTSIDER, "GET", "/api/v1/supervision/items/nosuchitem", None, 404),
    (OUTSIDER, "GET", "/api/v1/supervision/attachments/nosuchfile", None, 404),
    (MEMBER, "GET", "/api/v1/calls/nosuchcall", None, 404),
    (ADMIN, "PUT", "/api/v1/directory/people/pub-util-02/active", {"active": True}, 200),
    (MEMBER, "GET", "/api/v1/me", None, 200),
    (TERMINAL, "GET", "/api/v1/meetings/{m}", None, 404),  # a terminal of a unit that is not invited
    (MEMBER, "GET", "/api/v1/meetings?scope=all", None, 403),
]


async def test_the_authorization_matrix(hub: Hub) -> None:
    meeting = await create_meeting(hub)
    names = {"m": meeting["id"], "d": meeting["minutes_doc_id"]}
    wrong = []
    for who, method, path, body, expected in CASES:
        headers = hub.auth(who) if who else {}
        response = await hub.client.request(method, path.format(**names), json=body, headers=headers)
        if response.status != expected:
            wrong.append((who, method, path, expected, response.status, (await response.text())[:120]))
    assert wrong == [], "\n".join(map(str, wrong))
    # nothing the refused asked for happened
    after = await (await hub.client.get(f"/api/v1/meetings/{meeting['id']}", headers=hub.auth(CHAIR))).json()
    assert after["title"] == meeting["title"] and after["status"] == "scheduled"
    titles = [m["title"] for m in (await (await hub.client.get(
        "/api/v1/meetings?scope=all&when=all", headers=hub.auth(ADMIN))).json())["items"]]
    assert "越权会议" not in titles
    assert len(CASES) >= 50
