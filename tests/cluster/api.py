"""The REST API of one cluster node, called as a demo person (a bearer token signed with the nodes' secret)."""

from __future__ import annotations

from typing import Any

import aiohttp

from tests.cluster.nodes import Cluster, Node


async def api(cluster: Cluster, node: Node, method: str, path: str, person: str, *, expect: int = 200,
              **kwargs: Any) -> Any:
    """The JSON answer of ``method path`` on node (text for non-JSON answers); fails unless the status is expect."""
    headers = {"Authorization": f"Bearer {cluster.token(person)}"}
    async with aiohttp.ClientSession() as http, http.request(
        method, f"{node.url}{path}", headers=headers, **kwargs
    ) as response:
        assert response.status == expect, f"{method} {path} on {node.name}: {response.status} {await response.text()}"
        if response.content_type == "application/json":
            return await response.json()
        return await response.text()


async def call_log(cluster: Cluster, node: Node, person: str) -> list[dict[str, Any]]:
    """A person's call log as the API of node serves it, newest first."""
    return list((await api(cluster, node, "GET", "/api/v1/calls", person))["items"])
