"""Certificate sign-in through a trusted proxy's header (nginx's $ssl_client_escaped_cert): a bound, valid,
unrevoked certificate signs its person in; every other case is refused with its own code and words; a new
revocation list is picked up without a restart; a header from anyone but a trusted proxy is not believed; roles
and actions the settings keep for certificate sign-ins are refused to everyone else."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from hub import keys
from hub.auth.certificates import fingerprint
from tests.auth.certs import Issued, authority, issue, revocation_list
from tests.conftest import Hub, make_settings, start_hub

LEADER, REVOKED, EXPIRED, GONE = "p-xie", "pub-util-02", "pub-util-03", "pub-util-04"
HEADER = "X-Client-Certificate"


class Pki:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.ca = authority()
        self.leader = issue(self.ca, "谢继成")
        self.revoked = issue(self.ca, "孔刚")
        self.expired = issue(self.ca, "邓婷", valid_from=timedelta(days=-400), valid_for=timedelta(days=30))
        self.gone = issue(self.ca, "周淑珍")
        self.unbound = issue(self.ca, "无人")
        self.stranger = issue(authority("Some Other CA"), "谢继成")
        self.ca_file = folder / "ca.pem"
        self.ca_file.write_bytes(self.ca.pem)
        self.crl_file = folder / "ca.crl"
        self.revoke(self.revoked)

    def revoke(self, *certs: Issued) -> None:
        before = self.crl_file.stat().st_mtime if self.crl_file.exists() else 0
        revocation_list(self.ca, list(certs), self.crl_file)
        os.utime(self.crl_file, (before + 2, before + 2))  # a new file, whatever the clock's resolution


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return Pki(tmp_path)


async def certificate_hub(aiohttp_client: Any, tmp_path: Path, pki: Pki, **server: Any) -> Hub:
    hub = await start_hub(aiohttp_client, make_settings(tmp_path, server={
        "client_ca_file": str(pki.ca_file), "client_crl_file": str(pki.crl_file), "trusted_proxies": ("127.0.0.1",),
        **server}))
    directory = hub.app[keys.DIRECTORY]
    for person, issued in ((LEADER, pki.leader), (REVOKED, pki.revoked), (EXPIRED, pki.expired), (GONE, pki.gone)):
        await directory.bind_certificate(person, fingerprint(issued.der))
    await directory.set_active(GONE, False)
    return hub


async def sign_in(hub: Hub, issued: Issued | None) -> Any:
    headers = {HEADER: quote(issued.pem.decode())} if issued is not None else {}
    return await hub.client.get("/signin/certificate?next=/docs", headers=headers, allow_redirects=False)


async def test_a_bound_certificate_signs_its_person_in_and_the_rest_are_refused(
    aiohttp_client: Any, tmp_path: Path, pki: Pki
) -> None:
    hub = await certificate_hub(aiohttp_client, tmp_path, pki)
    signed = await sign_in(hub, pki.leader)
    assert signed.status == 303 and signed.headers["Location"] == "/docs"
    cookie = signed.cookies["cityhub_session"].value
    me = await (await hub.client.get("/api/v1/me", headers={"Cookie": f"cityhub_session={cookie}"})).json()
    assert me["person"]["id"] == LEADER and me["signed_in_with"] == "certificate"

    refusals = [(None, 401, "certificate_missing"), (pki.stranger, 401, "certificate_unknown_ca"),
                (pki.expired, 401, "certificate_expired"), (pki.revoked, 401, "certificate_revoked"),
                (pki.unbound, 403, "certificate_not_bound"), (pki.gone, 403, "person_inactive")]
    for issued, status, code in refusals:
        refused = await sign_in(hub, issued)
        page = await refused.text()
        assert refused.status == status and f'data-code="{code}"' in page, (code, refused.status)
        assert "cityhub_session" not in refused.cookies
    garbled = await hub.client.get("/signin/certificate", headers={HEADER: "not%20a%20certificate"})
    assert garbled.status == 401 and 'data-code="certificate_missing"' in await garbled.text()

    # the CA revokes the leader's certificate: the next sign-in is refused, without a restart
    pki.revoke(pki.revoked, pki.leader)
    refused = await sign_in(hub, pki.leader)
    assert refused.status == 401 and 'data-code="certificate_revoked"' in await refused.text()


async def test_the_header_counts_only_from_a_trusted_proxy(aiohttp_client: Any, tmp_path: Path, pki: Pki) -> None:
    hub = await certificate_hub(aiohttp_client, tmp_path, pki, trusted_proxies=("10.0.0.0/8",))
    refused = await sign_in(hub, pki.leader)
    assert refused.status == 401 and 'data-code="certificate_missing"' in await refused.text()


async def test_roles_and_actions_kept_for_certificate_sign_ins(aiohttp_client: Any, tmp_path: Path, pki: Pki) -> None:
    hub = await certificate_hub(aiohttp_client, tmp_path, pki, certificate_roles=("chair",),
                                certificate_actions=("signoff",))
    # a leader (chair role) does not get a session from a token any more; an official still does
    refused = await hub.client.post("/api/v1/auth/session", headers=hub.auth(LEADER))
    assert refused.status == 403 and (await refused.json())["error"]["code"] == "certificate_required"
    assert (await hub.client.post("/api/v1/auth/session", headers=hub.auth("water-04"))).status == 200
    signed = await sign_in(hub, pki.leader)
    assert signed.status == 303
    cookie = {"Cookie": f"cityhub_session={signed.cookies['cityhub_session'].value}"}

    doc = await (await hub.client.post("/api/v1/docs", json={"title": "签批测试"}, headers=hub.auth(LEADER))).json()
    version = await (await hub.client.post(f"/api/v1/docs/{doc['id']}/versions", json={"name": "定稿"},
                                           headers=hub.auth(LEADER))).json()
    body = {"version_id": version["id"], "strokes": [[{"x": 0.1, "y": 0.5, "t": 0}, {"x": 0.9, "y": 0.5, "t": 90}]]}
    by_token = await hub.client.post(f"/api/v1/docs/{doc['id']}/signoffs", json=body, headers=hub.auth(LEADER))
    assert by_token.status == 403 and (await by_token.json())["error"]["code"] == "certificate_required"
    by_certificate = await hub.client.post(f"/api/v1/docs/{doc['id']}/signoffs", json=body,
                                           headers={**cookie, "Origin": str(hub.client.make_url("")).rstrip("/")})
    assert by_certificate.status == 201, await by_certificate.text()
    assert (await by_certificate.json())["method"] == "certificate"
