"""Server-side printing (as=Table): the columns and cells kube-apiserver's printers produce."""

from __future__ import annotations

from kro.democluster.printers import DEFAULT_PRINTER, PRINTERS, Obj

_NAME_DESC = (
    "Name must be unique within a namespace. Is required when creating resources, although some "
    "resources may allow a client to request the generation of an appropriate name automatically. "
    "Name is primarily intended for creation idempotence and configuration definition. Cannot be "
    "updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
)
_AGE_DESC = (
    "CreationTimestamp is a timestamp representing the server time when this object was created. "
    "It is not guaranteed to be set in happens-before order across separate operations. Clients may "
    "not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. "
    "Read-only. Null for lists. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)


def _columns(spec: str) -> list[Obj]:
    """Columns from "Name|Ready|IP:1|Desired:i" (':1' = wide only, ':i' integer, ':b' boolean)."""
    out = []
    for part in spec.split("|"):
        name, _, flags = part.partition(":")
        col_type = "integer" if "i" in flags else "boolean" if "b" in flags else "string"
        desc = _NAME_DESC if name == "Name" else _AGE_DESC if name == "Age" else ""
        out.append({"name": name, "type": col_type, "format": "name" if name == "Name" else "",
                    "description": desc, "priority": 1 if "1" in flags else 0})
    return out


_COLUMNS = {key: _columns(spec) for key, (spec, _) in PRINTERS.items()}
_DEFAULT_COLUMNS = _columns(DEFAULT_PRINTER[0])
_SUCCEEDED = [{"type": "Completed", "status": "True", "reason": "Succeeded",
               "message": "The pod has completed successfully."}]


def columns(key: tuple[str, str]) -> list[Obj]:
    """Column definitions for a resource."""
    return _COLUMNS.get(key, _DEFAULT_COLUMNS)


def row(key: tuple[str, str], obj: Obj, now: float, include: str) -> Obj:
    """One Table row; include is None, Metadata or Object like the includeObject parameter."""
    printer = PRINTERS.get(key, DEFAULT_PRINTER)[1]
    out: Obj = {"cells": printer(obj, now)}
    if key == ("", "pods") and obj.get("status", {}).get("phase") == "Succeeded":
        out["conditions"] = _SUCCEEDED
    if include == "Object":
        out["object"] = obj
    elif include != "None":
        out["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                         "metadata": obj["metadata"]}
    return out
