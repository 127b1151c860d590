"""The web shell: jinja2 layout, language switch, demo sign-in, the directory page, HTML error pages."""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import jinja2
from aiohttp import web

from hub import keys
from hub.auth.http import optional_principal, presented_certificate
from hub.auth.principal import Principal
from hub.auth.routes import set_session_cookie
from hub.bounds import MAX_PAGE
from hub.clock import local_time
from hub.errors import HubError, NotFound
from hub.middleware import ERROR_PAGE
from web.i18n import LANG_COOKIE, LOCALES, Translator, current_locale, negotiate

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
STATIC = HERE / "static"


@dataclass(frozen=True)
class NavBadge:
    """A count on a navigation entry (e.g. missed calls), rendered with every page; scripts may update it live."""

    name: str  # data-badge on the link: what scripts look it up by
    count: Callable[[web.Application, Principal], Awaitable[int]]
    # The link's accessible name while the count is above zero: ngettext forms with %(num)d.
    singular: str
    plural: str


@dataclass(frozen=True)
class NavItem:
    path: str
    label: str
    # Only shown to principals for whom this says yes (None: everyone signed in).
    visible: Any = None
    badge: NavBadge | None = None


@dataclass(frozen=True)
class NavEntry:
    """A navigation entry as one page shows it: its badge's count and the link's label for that count."""

    item: NavItem
    count: int = 0
    aria_label: str = ""
    label_one: str = ""
    label_other: str = ""


TRANSLATOR: web.AppKey[Translator] = web.AppKey("translator")
TEMPLATES: web.AppKey[jinja2.Environment] = web.AppKey("templates")
NAV: web.AppKey[list[NavItem]] = web.AppKey("nav")


# Characters a browser drops or reinterprets in a URL (C0 controls, DEL, whitespace, invisible format characters)
# and the backslash, which browsers read as a slash: a `next` holding any of them is not followed.
_URL_TRAPS = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})
# What stays as it is when the path is written into Location (everything else is percent-encoded).
_URL_SAFE = "/?&=%#:@!$'()*+,;~-._"


def _safe_next(target: str | None) -> str:
    """Where to go after sign-in or a language switch: a path of this site, never another site (no open
    redirect); anything else is the start page."""
    if (not target or not target.startswith("/") or target.startswith("//") or "\\" in target
            or any(unicodedata.category(ch) in _URL_TRAPS for ch in target)):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return quote(target, safe=_URL_SAFE)


@web.middleware
async def locale_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Serve each request in its negotiated language."""
    token = current_locale.set(negotiate(request))
    try:
        return await handler(request)  # type: ignore[no-any-return]
    finally:
        current_locale.reset(token)


async def _context(request: web.Request) -> dict[str, Any]:
    try:
        principal = await optional_principal(request)
    except HubError:
        principal = None
    settings = request.app[keys.SETTINGS]
    nav = [await _nav_entry(request, item, principal) for item in request.app[NAV]
           if principal and (item.visible is None or item.visible(principal))]
    return {
        "user": principal,
        "locale": current_locale.get(),
        "html_lang": "zh-CN" if current_locale.get() == "zh_CN" else "en",
        "nav": nav,
        "demo": settings.server.demo,
        "path": request.path,
        "path_qs": request.path_qs,
    }


async def _nav_entry(request: web.Request, item: NavItem, principal: Principal) -> NavEntry:
    badge = item.badge
    if badge is None:
        return NavEntry(item)
    try:
        count = await badge.count(request.app, principal)
    except Exception:
        # A count is a courtesy: the page (maybe the error page of that very failure) renders without it.
        log.warning("nav badge %s for %s could not be counted", badge.name, principal.id, exc_info=True)
        return NavEntry(item)
    catalog = request.app[TRANSLATOR]
    return NavEntry(
        item, count,
        aria_label=catalog.ngettext(badge.singular, badge.plural, count) if count else "",
        # Unformatted forms for scripts (one for 1, the other for any other count: right for zh-CN and English).
        label_one=catalog.raw_ngettext(badge.singular, badge.plural, 1),
        label_other=catalog.raw_ngettext(badge.singular, badge.plural, 2),
    )


async def render(request: web.Request, template: str, context: dict[str, Any], status: int = 200) -> web.Response:
    """A page in the request's language."""
    page = request.app[TEMPLATES].get_template(template)
    html = page.render({**await _context(request), **context})
    return web.Response(
        text=html, status=status, content_type="text/html", charset="utf-8", headers={"Cache-Control": "no-store"}
    )


async def error_page(request: web.Request, status: int, code: str, message: str) -> web.StreamResponse:
    """The HTML page for a refusal or failure while serving a page."""
    if status == 401:
        raise web.HTTPFound(sign_in_url(request))
    return await render(request, "error.html", {"status": status, "code": code, "message": message}, status=status)


def sign_in_url(request: web.Request) -> str:
    """Where a visitor without a session goes: the demo sign-in page, or the sign-in help page."""
    # Only a page can be returned to: a refused form post (handoff, logout) goes back to the start page.
    back = request.path_qs if request.method == "GET" else "/"
    return _sign_in_page(request) + "?" + urlencode({"next": back})


def _sign_in_page(request: web.Request) -> str:
    # /login exists in demo mode only; elsewhere people sign in through the city portal (/auth/handoff).
    return "/login" if request.app[keys.SETTINGS].server.demo else "/signin"


def media_clock(seconds: float) -> str:
    """A moment of a recording as a player shows it: 00:12:34."""
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole // 60 % 60:02d}:{whole % 60:02d}"


async def page_principal(request: web.Request) -> Principal:
    """The signed-in person of a page; visitors are sent to sign in."""
    try:
        principal = await optional_principal(request)
    except HubError:
        principal = None
    if principal is None:
        raise web.HTTPFound(sign_in_url(request))
    return principal


async def index(request: web.Request) -> web.StreamResponse:
    principal = await page_principal(request)
    return await render(request, "index.html", {"me": principal})


async def signin_help(request: web.Request) -> web.StreamResponse:
    """Outside demo mode: how to sign in (through the city portal)."""
    if request.app[keys.SETTINGS].server.demo:
        raise web.HTTPFound("/login?" + urlencode({"next": _safe_next(request.query.get("next"))}))
    return await render(request, "signin_help.html", {
        "next": _safe_next(request.query.get("next")),
        "certificate_signin": bool(request.app[keys.SETTINGS].server.client_ca_file),
    }, status=401)


async def login_page(request: web.Request) -> web.StreamResponse:
    settings = request.app[keys.SETTINGS]
    next_path = _safe_next(request.query.get("next"))
    if not settings.server.demo:
        raise NotFound("not_found", "no such page")
    directory = request.app[keys.DIRECTORY]
    units = await directory.units()
    members = await directory.members([u.id for u in units])
    by_unit: dict[str, list[Any]] = {}
    for person in members:
        by_unit.setdefault(person.org_unit_id, []).append(person)
    groups = [(unit, by_unit[unit.id]) for unit in units if unit.id in by_unit]
    return await render(request, "login.html", {"groups": groups, "next": next_path})


async def login_submit(request: web.Request) -> web.StreamResponse:
    settings = request.app[keys.SETTINGS]
    if not settings.server.demo:
        raise NotFound("not_found", "no such page")
    form = await request.post()
    person_id = str(form.get("person", ""))
    directory = request.app[keys.DIRECTORY]
    person = await directory.find_person(person_id)
    if person is None or not person.active:
        raise NotFound("person_not_found", "no such active person in the demo directory")
    auth = request.app[keys.AUTH]
    principal = await auth.check(auth.issue_for(person)[1])
    response = web.HTTPSeeOther(_safe_next(str(form.get("next", "/"))))
    set_session_cookie(request, response, principal)
    raise response


async def handoff(request: web.Request) -> web.StreamResponse:
    """The city portal posts a token here (a form body, never a URL) and the browser gets its session cookie."""
    form = await request.post()
    token = str(form.get("token", ""))
    principal = await request.app[keys.AUTH].authenticate(token, peer=request.remote or "-")
    response = web.HTTPSeeOther(_safe_next(str(form.get("next", "/"))))
    set_session_cookie(request, response, principal)
    raise response


async def certificate_signin(request: web.Request) -> web.StreamResponse:
    """Sign in with the certificate on one's key (USB key or smart card), as the browser presents it."""
    try:
        principal = await request.app[keys.AUTH].sign_in_with_certificate(presented_certificate(request),
                                                                          peer=request.remote or "-")
    except HubError as refusal:
        return await render(request, "signin_certificate.html", {"refusal": refusal}, status=refusal.status)
    response = web.HTTPSeeOther(_safe_next(request.query.get("next")))
    set_session_cookie(request, response, principal)
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    principal = await optional_principal(request)
    if principal is not None and principal.kind == "session":
        await request.app[keys.AUTH].revoke(principal.jti, expires_at=principal.expires_at, by=principal.id)
    response = web.HTTPSeeOther(_sign_in_page(request))
    response.del_cookie(request.app[keys.SETTINGS].server.cookie_name, path="/")
    raise response


async def switch_language(request: web.Request) -> web.StreamResponse:
    locale = request.match_info["locale"]
    if locale not in LOCALES:
        raise NotFound("unknown_language", "that language is not offered")
    response = web.HTTPSeeOther(_safe_next(request.query.get("next")))
    response.set_cookie(LANG_COOKIE, locale, max_age=365 * 86400, samesite="Lax", path="/")
    raise response


async def directory_page(request: web.Request) -> web.StreamResponse:
    await page_principal(request)
    directory = request.app[keys.DIRECTORY]
    q = request.query.get("q", "")[:100]
    unit_filter = request.query.get("org_unit") or None
    try:
        page = min(max(1, int(request.query.get("page", "1"))), MAX_PAGE)
    except ValueError:
        page = 1
    per_page = 25
    people, total = await directory.search(q, org_unit=unit_filter, limit=per_page, offset=(page - 1) * per_page)
    units = await directory.units()
    return await render(
        request,
        "directory.html",
        {
            "q": q,
            "org_unit": unit_filter,
            "people": people,
            "total": total,
            "page": page,
            "pages": max(1, -(-total // per_page)),
            "units": {u.id: u for u in units},
            "unit_list": units,
            "tree": await directory.tree(),
        },
    )


def filesize(size: int) -> str:
    """A file's size as people read it: 39 B, 12.5 KB, 3.2 MB."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def setup_web(app: web.Application) -> None:
    """Templates, static files and the shell's pages."""
    translator = Translator()
    app[TRANSLATOR] = translator
    app[NAV] = [NavItem("/directory", "Directory")]
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
    )
    app[TEMPLATES] = env
    env.install_gettext_callables(translator.gettext, translator.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals["static"] = lambda path: f"/static/{path}"
    env.filters["role_label"] = lambda role: translator.gettext(f"role.{role}")
    env.filters["filesize"] = filesize
    env.filters["clock"] = media_clock
    env.filters["longdate"] = lambda day: translator.gettext("date.long").format(
        year=day.year, month=day.month, day=day.day, month_name=day.strftime("%B"))
    # One clock: every time on every page in the city's time zone; the browser code reads it from <html>.
    city_tz = app[keys.SETTINGS].tz
    env.filters["localtime"] = lambda moment, fmt="%Y-%m-%d %H:%M": local_time(moment, city_tz, fmt)
    env.globals["timezone"] = app[keys.SETTINGS].server.timezone
    app[ERROR_PAGE] = error_page
    app.router.add_get("/", index)
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login_submit)
    app.router.add_get("/signin", signin_help)
    app.router.add_get("/signin/certificate", certificate_signin)
    app.router.add_post("/logout", logout)
    app.router.add_post("/auth/handoff", handoff)
    app.router.add_get("/lang/{locale}", switch_language)
    app.router.add_get("/directory", directory_page)
    app.router.add_static("/static", STATIC, append_version=True)
