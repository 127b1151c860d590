"""The supervision pages render every state and timeline entry in both languages, with the actions of the viewer."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hub import keys
from hub.supervision.model import Action, Priority, Status
from tests.supervision.conftest import LEAD, OUTSIDER, SUPERVISOR, SvHub
from web.i18n import Translator, current_locale


async def page(sv: SvHub, path: str, person: str, lang: str) -> tuple[int, str]:
    response = await sv.client.get(path, headers={**sv.auth(person), "Accept-Language": lang})
    return response.status, await response.text()


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
async def test_item_page_shows_the_whole_timeline_and_the_viewers_actions(sv: SvHub, lang: str) -> None:
    item_id = (await sv.decide(due_in=2))["item"]["id"]
    path = f"/supervision/items/{item_id}"
    status, html = await page(sv, path, LEAD, lang)
    assert status == 200 and 'data-test="do-accept"' in html and 'data-test="do-close"' not in html
    assert 'href="/meetings/m1"' in html and 'href="/docs/doc-minutes-1"' in html
    await sv.act(item_id, LEAD, "accept")
    await sv.act(item_id, LEAD, "comment", text="评论")
    await sv.act(item_id, LEAD, "request_extension", text="延期",
                 due_date=(sv.today() + timedelta(days=9)).isoformat())
    status, html = await page(sv, path, SUPERVISOR, lang)
    assert 'data-test="do-grant"' in html and 'data-test="do-cancel"' in html and "do-report" not in html
    await sv.act(item_id, SUPERVISOR, "grant_extension")
    sv.clock.advance(15 * 86400)
    await sv.app[keys.REMINDERS].run_once()
    await sv.act(item_id, LEAD, "submit", text="完成")
    await sv.act(item_id, SUPERVISOR, "return", text="补充")
    await sv.act(item_id, LEAD, "request_extension", text="再延期",
                 due_date=(sv.today() + timedelta(days=9)).isoformat())
    await sv.act(item_id, SUPERVISOR, "deny_extension", text="不同意")
    await sv.act(item_id, SUPERVISOR, "cancel", text="撤销")
    status, html = await page(sv, path, LEAD, lang)
    assert status == 200
    kinds = ["created", "accept", "comment", "request_extension", "grant_extension", "escalation", "submit",
             "return", "deny_extension", "cancel"]
    for kind in kinds:
        assert f'data-kind="{kind}"' in html, kind
    assert ("已撤销" if lang == "zh-CN" else "Cancelled") in html
    assert "kind." not in html and "status." not in html
    assert (await page(sv, path, OUTSIDER, lang))[0] == 403


async def test_a_refused_action_on_the_page_says_why(sv: SvHub) -> None:
    item_id = (await sv.decide())["item"]["id"]
    response = await sv.client.post(f"/supervision/items/{item_id}", data={"action": "close", "text": ""},
                                    headers={**sv.auth(SUPERVISOR), "Accept-Language": "en"})
    html = await response.text()
    assert response.status == 409 and 'data-test="error"' in html and "assigned" in html
    response = await sv.client.post(f"/supervision/items/{item_id}", data={"action": "fly"},
                                    headers=sv.auth(LEAD), allow_redirects=False)
    assert response.status == 400
    response = await sv.client.post(f"/supervision/items/{item_id}", data={"action": "accept"},
                                    headers=sv.auth(LEAD), allow_redirects=False)
    assert response.status == 303 and response.headers["Location"].endswith("?done=accept")


async def test_pages_need_a_session(sv: SvHub) -> None:
    response = await sv.client.get("/supervision", allow_redirects=False)
    assert response.status == 302 and response.headers["Location"].startswith("/login")


def test_every_state_kind_and_priority_is_translated() -> None:
    translator = Translator()
    keys = [f"status.{s.value}" for s in Status] + [f"priority.{p.value}" for p in Priority]
    keys += [f"kind.{a.value}" for a in Action] + ["kind.created", "kind.reminder", "kind.escalation"]
    keys += [f"done.{a.value}" for a in Action]
    for locale in ("zh_CN", "en"):
        token = current_locale.set(locale)
        try:
            missing = [k for k in keys if translator.gettext(k) == k]
        finally:
            current_locale.reset(token)
        assert missing == [], locale


async def test_notifications_panel_and_marking_seen(sv: SvHub) -> None:
    await sv.app[keys.REMINDERS].stop()
    item_id = (await sv.decide(due_in=1))["item"]["id"]
    await sv.app[keys.REMINDERS].run_once()
    status, html = await page(sv, "/supervision/units/pub-util", LEAD, "en")
    panel = html.split('data-test="notifications"')[1].split("</section>")[0]
    assert "Reminder" in panel and "Decided in the meeting" in panel and item_id in panel
    notes = (await (await sv.client.get("/api/v1/supervision/notifications?unread=true",
                                        headers=sv.auth(LEAD))).json())["notifications"]
    for note in notes:
        response = await sv.client.post(f"/supervision/notifications/{note['id']}/read",
                                        data={"next": "/supervision/units/pub-util"}, headers=sv.auth(LEAD),
                                        allow_redirects=False)
        assert response.status == 303 and response.headers["Location"] == "/supervision/units/pub-util"
    status, html = await page(sv, "/supervision/units/pub-util", LEAD, "en")
    assert 'data-test="notifications"' not in html
    # Someone else's notification cannot be marked.
    other = await sv.client.post(f"/supervision/notifications/{notes[0]['id']}/read", headers=sv.auth(OUTSIDER),
                                 allow_redirects=False)
    assert other.status == 404


async def test_the_reviewer_sees_the_completion_report_beside_the_verdict(sv: SvHub) -> None:
    item_id = (await sv.decide(due_in=1))["item"]["id"]
    await sv.act(item_id, LEAD, "accept")
    sv.clock.advance(3 * 86400)
    await sv.act(item_id, LEAD, "submit", text="全部完成，附验收单")
    status, html = await page(sv, f"/supervision/items/{item_id}", SUPERVISOR, "en")
    review = html.split('data-test="form-close"')[1].split("</form>")[0]
    assert "全部完成，附验收单" in review and "submitted after the due date" in review
    status, html = await page(sv, f"/supervision/items/{item_id}", LEAD, "en")
    assert 'data-test="form-close"' not in html and 'data-test="completion-report"' not in html


async def test_a_department_page_speaks_to_its_department_and_about_it_to_a_supervisor(sv: SvHub) -> None:
    item_id = (await sv.decide(due_in=1))["item"]["id"]
    status, own = await page(sv, "/supervision/units/pub-util", LEAD, "zh-CN")
    assert status == 200 and "本单位牵头或配合办理的督办事项。" in own and "待本单位办理" in own
    status, other = await page(sv, "/supervision/units/pub-util", SUPERVISOR, "zh-CN")
    assert status == 200 and item_id in other
    assert "本单位" not in other and "市公用事业局牵头或协办的事项。" in other and "待该单位办理" in other
    status, english = await page(sv, "/supervision/units/pub-util", SUPERVISOR, "en")
    assert "your department" not in english.lower() and "Waiting for the department" in english


async def test_the_dashboard_filters_by_a_meeting_chosen_by_its_title(sv: SvHub) -> None:
    sv.meetings.add("m2", title="全市防汛工作会议")
    await sv.decide("m1")
    sv.clock.advance(86400)
    await sv.decide("m2", text="加固堤防")
    status, html = await page(sv, "/supervision", SUPERVISOR, "zh-CN")
    select = html.split('data-test="meeting-filter"')[1].split("</select>")[0]
    # the most recent meeting first, by title and day; no id typed into a box
    assert select.index("全市防汛工作会议") < select.index("市政府常务会议")
    assert '<option value="m2" >全市防汛工作会议 · ' in select and "全部会议" in select
    status, html = await page(sv, "/supervision?meeting=m2", SUPERVISOR, "zh-CN")
    assert '<option value="m2" selected>' in html
    listed = html.split('data-test="item-list"')[1].split("</table>")[0]
    assert "加固堤防" in listed and "推进老旧小区供热管网改造" not in listed
