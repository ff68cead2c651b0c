"""Which resources are namespaced, learnt from discovery once per group-version (for the namespace pins)."""

from __future__ import annotations

import httpx2 as httpx

from kro.sandbox.proxy.flow import Refused
from kro.sandbox.proxy.transport import Transport


class Discovery:
    """The `namespaced` lookup decide_request asks, filled from the API server's discovery documents."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self._namespaced: dict[str, dict[str, bool]] = {}

    def lookup(self, group_version: str, resource: str) -> bool | None:
        """Whether `resource` of `group_version` is namespaced; None when not known."""
        return self._namespaced.get(group_version, {}).get(resource)

    async def learn(self, raw_path: str) -> bool:
        """Fetch discovery for the path's group-version when not known yet; whether anything was learnt."""
        segs = raw_path.strip("/").split("/")
        if segs[:1] == ["api"] and len(segs) > 2:
            gv, url = segs[1], f"/api/{segs[1]}"
        elif segs[:1] == ["apis"] and len(segs) > 3:
            gv, url = f"{segs[1]}/{segs[2]}", f"/apis/{segs[1]}/{segs[2]}"
        else:
            return False
        if gv in self._namespaced:
            return False
        try:
            resp = await self.transport.send("GET", url, [("accept", "application/json")], b"", stream=False)
            doc = resp.json() if resp.status_code == 200 else {}
        except (Refused, httpx.HTTPError, ValueError):
            return False
        found = {
            str(r.get("name")): bool(r.get("namespaced"))
            for r in doc.get("resources") or []
            if isinstance(r, dict)
        }
        self._namespaced[gv] = found
        return True
