"""`cityhub serve` over HTTPS asks browsers for a certificate of the city's CA: a certificate bound with
`cityhub directory bind-certificate` signs its person in at /signin/certificate; no certificate, a revoked one or
an unbound one gets the page that says so; one from another CA, or an expired one, does not get through the
handshake."""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest

from bench.cluster import ROOT, free_port
from hub.auth.certificates import fingerprint
from tests.auth.certs import authority, issue, revocation_list


def cityhub(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hub", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)


def client_tls(ca: Path, cert: tuple[Path, Path] | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca))
    if cert is not None:
        context.load_cert_chain(str(cert[0]), str(cert[1]))
    return context


async def test_certificate_sign_in_over_the_hubs_own_tls(tmp_path: Path) -> None:
    ca = authority()
    server_cert = issue(ca, "cityhub", server_ip="127.0.0.1").write(tmp_path, "server")
    leader = issue(ca, "谢继成")
    leader_files = leader.write(tmp_path, "leader")
    stranger_files = issue(authority("Some Other CA"), "谢继成").write(tmp_path, "stranger")
    expired_files = issue(ca, "邓婷", valid_from=timedelta(days=-400), valid_for=timedelta(days=30)).write(
        tmp_path, "expired")
    unbound_files = issue(ca, "无人").write(tmp_path, "unbound")
    revoked = issue(ca, "孔刚")
    revoked_files = revoked.write(tmp_path, "revoked")
    (tmp_path / "ca.pem").write_bytes(ca.pem)
    revocation_list(ca, [revoked], tmp_path / "ca.crl")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYHUB_")}
    env.update(CITYHUB_SERVER_VAR_DIR=str(tmp_path / "var"), CITYHUB_SERVER_DEMO="true",
               CITYHUB_SERVER_LOG_LEVEL="WARNING", CITYHUB_SERVER_PORT=str(port),
               CITYHUB_SERVER_PUBLIC_URL=f"https://127.0.0.1:{port}",
               CITYHUB_SERVER_TLS_CERT_FILE=str(server_cert[0]), CITYHUB_SERVER_TLS_KEY_FILE=str(server_cert[1]),
               CITYHUB_SERVER_CLIENT_CA_FILE=str(tmp_path / "ca.pem"),
               CITYHUB_SERVER_CLIENT_CRL_FILE=str(tmp_path / "ca.crl"))
    bound = await asyncio.to_thread(cityhub, env, "directory", "bind-certificate", "--person", "p-xie",
                                    str(leader_files[0]))
    assert bound.returncode == 0, bound.stderr
    assert json.loads(bound.stdout)["sha256"] == fingerprint(leader.der)
    unknown = await asyncio.to_thread(cityhub, env, "directory", "bind-certificate", "--person", "nobody",
                                      str(leader_files[0]))
    assert unknown.returncode != 0 and "nobody" in unknown.stderr and "Traceback" not in unknown.stderr
    assert (await asyncio.to_thread(cityhub, env, "directory", "bind-certificate", "--person", "pub-util-02",
                                    str(revoked_files[0]))).returncode == 0

    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "hub", "serve", cwd=ROOT, env=env,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
        assert line.startswith(f"CityHub is running: open https://127.0.0.1:{port}"), line
        url = f"https://127.0.0.1:{port}/signin/certificate?next=/docs"
        async with aiohttp.ClientSession() as http:
            async with http.get(url, ssl=client_tls(tmp_path / "ca.pem", leader_files),
                                allow_redirects=False) as signed:
                assert signed.status == 303 and signed.headers["Location"] == "/docs"
                assert "cityhub_session" in signed.cookies
            async with http.get(url, ssl=client_tls(tmp_path / "ca.pem", None)) as bare:
                assert bare.status == 401 and 'data-code="certificate_missing"' in await bare.text()
            for files, status, code in ((revoked_files, 401, "certificate_revoked"),
                                        (unbound_files, 403, "certificate_not_bound")):
                async with http.get(url, ssl=client_tls(tmp_path / "ca.pem", files)) as refused:
                    assert refused.status == status and f'data-code="{code}"' in await refused.text()
            for files in (stranger_files, expired_files):  # the handshake itself fails (the browser says why)
                with pytest.raises(aiohttp.ClientError):
                    async with http.get(url, ssl=client_tls(tmp_path / "ca.pem", files)) as refused:
                        await refused.read()
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 30)
