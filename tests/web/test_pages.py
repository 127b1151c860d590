"""The web shell: sign-in (demo mode only), redirects, the directory page, language by header and switch."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from hub import keys
from tests.conftest import Hub, make_settings, start_hub

EN = {"Accept-Language": "en-US,en;q=0.9"}
ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}


def redirect(location: str) -> tuple[str, str]:
    """(path, next) of a sign-in redirect."""
    parts = urlsplit(location)
    return parts.path, parse_qs(parts.query)["next"][0]


async def sign_in(hub: Hub, person: str, next_path: str = "/") -> str:
    response = await hub.client.post("/login", data={"person": person, "next": next_path}, allow_redirects=False)
    assert response.status == 303, await response.text()
    return response.headers["Location"]


async def test_signed_out_visitors_go_to_login(hub: Hub) -> None:
    for path in ("/", "/directory?q=x&page=2"):
        response = await hub.client.get(path, allow_redirects=False)
        assert response.status == 302 and redirect(response.headers["Location"]) == ("/login", path)


async def test_demo_sign_in_lists_people_and_signs_in(hub: Hub) -> None:
    page = await hub.client.get("/login?next=/directory", headers=ZH)
    html = await page.text()
    assert page.status == 200 and "登录演示系统" in html and "谢继成" in html and "市公用事业局" in html
    assert 'value="/directory"' in html
    assert "谢继成 · 局长（会议主持人）" in html and "沈艳 · 督查室主任（会议主持人、督查人员）" in html
    english = await (await hub.client.get("/login", headers=EN)).text()
    assert "谢继成 · 局长 (Chair)" in english and "(Chair, Supervisor)" in english
    assert await sign_in(hub, "p-xie", "/directory") == "/directory"
    home = await hub.client.get("/", headers=ZH)
    text = await home.text()
    assert home.status == 200 and "谢继成，您好" in text and "通讯录" in text


async def test_sign_in_refusals(hub: Hub) -> None:
    unknown = await hub.client.post("/login", data={"person": "p-nobody"}, allow_redirects=False)
    assert unknown.status == 404 and "text/html" in unknown.headers["Content-Type"]
    await hub.app[keys.DIRECTORY].set_active("pub-util-02", False)
    inactive = await hub.client.post("/login", data={"person": "pub-util-02"}, allow_redirects=False)
    assert inactive.status == 404
    assert not hub.client.session.cookie_jar.filter_cookies(hub.client.make_url("/"))
    # Never an open redirect after sign-in.
    for evil in ("//evil.example/x", "https://evil.example", "/\\evil.example"):
        assert await sign_in(hub, "p-xie", evil) == "/"


async def test_sign_out_ends_the_session(hub: Hub) -> None:
    await sign_in(hub, "p-xie")
    name = hub.app[keys.SETTINGS].server.cookie_name
    cookie = hub.client.session.cookie_jar.filter_cookies(hub.client.make_url("/"))[name].value
    out = await hub.client.post("/logout", allow_redirects=False)
    assert out.status == 303 and out.headers["Location"] == "/login"
    hub.client.session.cookie_jar.clear()
    replay = await hub.client.get("/", headers={"Cookie": f"{name}={cookie}"}, allow_redirects=False)
    assert replay.status == 302 and replay.headers["Location"].startswith("/login")


async def test_login_page_does_not_exist_outside_demo_mode(aiohttp_client: Any, tmp_path: Path) -> None:
    hub = await start_hub(aiohttp_client, make_settings(tmp_path, server={"demo": False}))
    login = await hub.client.get("/login", headers=EN)
    assert login.status == 404 and "Page not found" in await login.text()
    post = await hub.client.post("/login", data={"person": "p-xie"}, allow_redirects=False)
    assert post.status == 404
    home = await hub.client.get("/", allow_redirects=False)
    assert home.status == 302 and redirect(home.headers["Location"]) == ("/signin", "/")
    help_page = await hub.client.get("/signin", headers=ZH)
    assert help_page.status == 401 and "请通过市政务门户登录" in await help_page.text()


async def test_error_pages_speak_the_visitors_language(hub: Hub) -> None:
    chinese = await hub.client.get("/no-such-page", headers=ZH)
    text = await chinese.text()
    assert chinese.status == 404 and "页面不存在" in text and "返回首页" in text
    assert "no such resource" not in text
    english = await (await hub.client.get("/no-such-page", headers=EN)).text()
    assert "Page not found" in english and "no such resource" in english


async def test_signin_help_redirects_to_login_in_demo_mode(hub: Hub) -> None:
    response = await hub.client.get("/signin?next=/directory", allow_redirects=False)
    assert response.status == 302 and redirect(response.headers["Location"]) == ("/login", "/directory")


async def test_language_by_accept_language(hub: Hub) -> None:
    english = await (await hub.client.get("/login", headers=EN)).text()
    assert '<html lang="en" ' in english and "Sign in to the demo" in english and "登录演示系统" not in english
    chinese = await (await hub.client.get("/login", headers=ZH)).text()
    assert '<html lang="zh-CN" ' in chinese and "登录演示系统" in chinese
    default = await (await hub.client.get("/login", headers={"Accept-Language": "fr-FR"})).text()
    assert '<html lang="zh-CN" ' in default
    weighted = await (await hub.client.get("/login", headers={"Accept-Language": "zh;q=0.2, en;q=0.8"})).text()
    assert '<html lang="en" ' in weighted


async def test_language_switch_cookie_wins(hub: Hub) -> None:
    await sign_in(hub, "p-xie")
    switched = await hub.client.get("/lang/en?next=/directory", headers=ZH, allow_redirects=False)
    assert switched.status == 303 and switched.headers["Location"] == "/directory"
    assert "cityhub_lang=en" in switched.headers["Set-Cookie"]
    page = await (await hub.client.get("/directory", headers=ZH)).text()
    assert "Directory" in page and '<html lang="en" ' in page and "中文" in page
    back = await hub.client.get("/lang/zh_CN?next=/directory", allow_redirects=False)
    assert back.status == 303
    assert "通讯录" in await (await hub.client.get("/directory", headers=EN)).text()
    unknown = await hub.client.get("/lang/fr", allow_redirects=False)
    assert unknown.status == 404
    evil = await hub.client.get("/lang/en?next=https://evil.example", allow_redirects=False)
    assert evil.headers["Location"] == "/"


async def test_directory_page_search_and_plurals(hub: Hub) -> None:
    await sign_in(hub, "shinan-office-term")
    one = await (await hub.client.get("/directory?q=谢继成", headers=ZH)).text()
    assert "谢继成" in one and "共 1 人" in one and "会议主持人" in one
    one_en = await (await hub.client.get("/directory?q=谢继成", headers=EN)).text()
    assert "1 person" in one_en and "Chair" in one_en
    many_en = await (await hub.client.get("/directory?org_unit=pub-util", headers=EN)).text()
    assert " people" in many_en
    none = await (await hub.client.get("/directory?q=不存在", headers=ZH)).text()
    assert "没有符合条件的人员。" in none and "共 0 人" in none
    odd = await hub.client.get("/directory?page=abc&q=" + "x" * 500, headers=ZH)
    assert odd.status == 200


async def test_pages_escape_user_text(hub: Hub) -> None:
    await sign_in(hub, "p-xie")
    page = await (await hub.client.get('/directory?q=<script>alert(1)</script>')).text()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


async def test_portal_handoff_gives_a_session(hub: Hub) -> None:
    response = await hub.client.post(
        "/auth/handoff", data={"token": hub.token("supervision-01"), "next": "/directory"}, allow_redirects=False
    )
    assert response.status == 303 and response.headers["Location"] == "/directory"
    page = await hub.client.get("/directory", headers=ZH)
    assert page.status == 200 and "沈艳" in await page.text()


async def test_portal_handoff_refusals(hub: Hub) -> None:
    bad = await hub.client.post("/auth/handoff", data={"token": "not.a.jwt"}, allow_redirects=False)
    assert bad.status == 302 and redirect(bad.headers["Location"]) == ("/login", "/")
    assert not hub.client.session.cookie_jar.filter_cookies(hub.client.make_url("/"))
    empty = await hub.client.post("/auth/handoff", data={}, allow_redirects=False)
    assert empty.status == 302
    evil = await hub.client.post(
        "/auth/handoff", data={"token": hub.token("p-xie"), "next": "//evil.example"}, allow_redirects=False
    )
    assert evil.headers["Location"] == "/"
