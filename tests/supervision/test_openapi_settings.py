"""Supervision's endpoints are in the OpenAPI document; its settings are checked when loaded."""

from __future__ import annotations

import pytest

from hub.settings import SettingsError, load_settings
from tests.supervision.conftest import SvHub


async def test_openapi_lists_supervision_endpoints(sv: SvHub) -> None:
    document = await (await sv.client.get("/api/v1/openapi.json")).json()
    paths = document["paths"]
    for path, method in (
        ("/api/v1/meetings/{meeting_id}/decisions", "post"), ("/api/v1/supervision/items", "get"),
        ("/api/v1/supervision/items/{item_id}/actions", "post"),
        ("/api/v1/supervision/items/{item_id}/reports", "post"),
        ("/api/v1/supervision/dashboard", "get"), ("/api/v1/supervision/export.xlsx", "get"),
        ("/api/v1/supervision/audit/verify", "get"),
    ):
        assert method in paths[path], path
    assert "DecisionRequest" in document["components"]["schemas"]
    # Every documented supervision path answers (401 without credentials), none is a 404.
    for path, operations in paths.items():
        if "supervision" not in path and "decisions" not in path:
            continue
        concrete = path.replace("{meeting_id}", "m1").replace("{item_id}", "x").replace(
            "{attachment_id}", "x").replace("{notification_id}", "1").replace("{signoff_id}", "x")
        for method in operations:
            response = await sv.client.request(method.upper(), concrete)
            assert response.status == 401, (method, path)


@pytest.mark.parametrize(
    ("environ", "key"),
    [
        ({"CITYHUB_SUPERVISION_REMINDER_DAYS": "3,soon"}, "supervision.reminder_days"),
        ({"CITYHUB_SUPERVISION_WEBHOOK_URLS": "https://hooks.city.example/x"}, "supervision.webhook_secret"),
        ({"CITYHUB_SUPERVISION_WEBHOOK_URLS": "ftp://x", "CITYHUB_SUPERVISION_WEBHOOK_SECRET": "s"},
         "supervision.webhook_urls"),
        ({"CITYHUB_SERVER_TIMEZONE": "Mars/Olympus"}, "server.timezone"),
        # renamed: the old name says where the setting went instead of being ignored
        ({"CITYHUB_SUPERVISION_TIMEZONE": "Asia/Shanghai"}, "CITYHUB_SERVER_TIMEZONE"),
        ({"CITYHUB_SUPERVISION_WEBHOOK_ATTEMPTS": "0"}, "supervision.webhook_attempts"),
    ],
)
def test_bad_supervision_settings_name_the_key(environ: dict[str, str], key: str) -> None:
    with pytest.raises(SettingsError, match=key.replace(".", r"\.")):
        load_settings(environ=environ)


def test_supervision_settings_from_the_environment() -> None:
    settings = load_settings(environ={"CITYHUB_SUPERVISION_ESCALATION_DAYS": "0,5",
                                      "CITYHUB_SUPERVISION_WEBHOOK_URLS": "https://a.example/h,https://b.example/h",
                                      "CITYHUB_SUPERVISION_WEBHOOK_SECRET": "s3cret"})
    assert settings.supervision.escalation_days == ("0", "5")
    assert settings.supervision.webhook_urls == ("https://a.example/h", "https://b.example/h")
