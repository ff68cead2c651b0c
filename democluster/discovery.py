"""Discovery documents (aggregated v2 and legacy) built from the resource registry."""

from __future__ import annotations

from typing import Any

from kro.democluster.resources import REGISTRY, Resource, group_versions

AGGREGATED_CONTENT_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
AGGREGATED_V2BETA1_CONTENT_TYPE = (
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
)


def _kind_ref(kind: str, group: str | None = None, version: str | None = None) -> dict[str, str]:
    return {"group": group or "", "version": version or "", "kind": kind}


def _aggregated_resource(res: Resource) -> dict[str, Any]:
    out: dict[str, Any] = {
        "resource": res.plural,
        "responseKind": _kind_ref(res.kind),
        "scope": "Namespaced" if res.namespaced else "Cluster",
        "singularResource": res.singular_name,
        "verbs": list(res.verbs),
    }
    if res.short_names:
        out["shortNames"] = list(res.short_names)
    if res.categories:
        out["categories"] = list(res.categories)
    if res.subresources:
        out["subresources"] = [
            {
                "subresource": sub.name,
                "responseKind": _kind_ref(sub.kind, sub.group, sub.version),
                "verbs": list(sub.verbs),
            }
            for sub in res.subresources
        ]
    return out


def aggregated(core: bool, api_version: str = "apidiscovery.k8s.io/v2") -> dict[str, Any]:
    """The APIGroupDiscoveryList for /api (core=True) or /apis."""
    items = []
    for group, versions in group_versions():
        if (group == "") != core:
            continue
        items.append({
            "metadata": {"name": group} if group else {},
            "versions": [
                {
                    "version": version,
                    "resources": [
                        _aggregated_resource(res)
                        for res in REGISTRY
                        if res.group == group and res.version == version
                    ],
                    "freshness": "Current",
                }
                for version in versions
            ],
        })
    return {"kind": "APIGroupDiscoveryList", "apiVersion": api_version, "metadata": {}, "items": items}


def api_versions(server_address: str) -> dict[str, Any]:
    """Legacy /api: the APIVersions object."""
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def _group(group: str, versions: list[str]) -> dict[str, Any]:
    gvs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": gvs, "preferredVersion": gvs[0]}


def api_group_list() -> dict[str, Any]:
    """Legacy /apis: the APIGroupList object."""
    groups = [_group(g, vs) for g, vs in group_versions() if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(group: str) -> dict[str, Any] | None:
    """Legacy /apis/<group>: one APIGroup, or None when unknown."""
    for name, versions in group_versions():
        if name == group and group:
            return {"kind": "APIGroup", "apiVersion": "v1", **_group(group, versions)}
    return None


def resource_list(group: str, version: str) -> dict[str, Any] | None:
    """Legacy /api/v1 or /apis/<group>/<version>: the APIResourceList, or None when unknown."""
    found = [res for res in REGISTRY if res.group == group and res.version == version]
    if not found:
        return None
    resources: list[dict[str, Any]] = []
    for res in found:
        entry: dict[str, Any] = {
            "name": res.plural,
            "singularName": res.singular_name,
            "namespaced": res.namespaced,
            "kind": res.kind,
            "verbs": list(res.verbs),
        }
        if res.short_names:
            entry["shortNames"] = list(res.short_names)
        if res.categories:
            entry["categories"] = list(res.categories)
        resources.append(entry)
        for sub in res.subresources:
            sub_entry: dict[str, Any] = {
                "name": f"{res.plural}/{sub.name}",
                "singularName": "",
                "namespaced": res.namespaced,
                "kind": sub.kind,
                "verbs": list(sub.verbs),
            }
            if sub.group is not None:
                sub_entry["group"] = sub.group
                sub_entry["version"] = sub.version
            resources.append(sub_entry)
    if not group:
        return {"kind": "APIResourceList", "groupVersion": version, "resources": resources}
    gv = f"{group}/{version}"
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}
