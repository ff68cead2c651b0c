"""pods/{name}/log: container logs with tailLines, sinceSeconds, timestamps, previous and follow."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

from kro.democluster.clock import parse
from kro.democluster.fixture import Obj, Store
from kro.democluster.messages import Request, Response
from kro.democluster.status import ApiError, bad_request

_GENERIC = ["level=info msg=\"started\"", "level=info msg=\"ready\""]


def _stamp(epoch: float) -> str:
    whole = datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{whole}.{int((epoch % 1) * 1e9):09d}Z"


def _int_param(req: Request, name: str) -> int | None:
    raw = req.param(name)
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise bad_request(f'{name}: Invalid value: "{raw}": must be an integer') from None


def _container_status(pod: Obj, container: str) -> Obj:
    for cs in pod.get("status", {}).get("containerStatuses", []):
        if cs["name"] == container:
            return dict(cs)
    return {}


def _window(pod: Obj, container: str, previous: bool, fallback: float) -> tuple[float, float]:
    cs = _container_status(pod, container)
    state = cs.get("lastState", {}) if previous or "waiting" in cs.get("state", {}) else cs.get("state", {})
    run = state.get("running") or state.get("terminated") or {}
    start = parse(run["startedAt"]) if run.get("startedAt") else fallback - 60
    end = parse(run["finishedAt"]) if run.get("finishedAt") else fallback - 5
    if previous and "waiting" in cs.get("state", {}):
        start, end = start - 330, start - 320
    return start, max(end, start + 1)


def pod_log(store: Store, pod: Obj, req: Request) -> Response:
    """The log of one container of a pod, shaped by the query parameters kubectl sends."""
    name, ns = pod["metadata"]["name"], pod["metadata"]["namespace"]
    containers = [c["name"] for c in pod["spec"]["containers"]]
    container = req.param("container")
    if not container:
        if len(containers) != 1:
            raise bad_request(
                f"a container name must be specified for pod {name}, choose one of: [{' '.join(containers)}]"
            )
        container = containers[0]
    if container not in containers:
        raise bad_request(f"container {container} is not valid for pod {name}")
    previous = req.flag("previous")
    cs = _container_status(pod, container)
    if previous and not cs.get("lastState", {}).get("terminated"):
        raise bad_request(f'previous terminated container "{container}" in pod "{name}" not found')
    key = f"{ns}/{name}/{container}"
    raw = store.raw_logs.get(key)
    if raw is not None:
        return Response(200, raw, "text/plain")
    lines = (store.logs.get(f"{key}/previous") if previous else None) or store.logs.get(key) \
        or store.logs.get(container) or _GENERIC
    start, end = _window(pod, container, previous, store.clock.now)
    step = (end - start) / max(len(lines), 1)
    stamped = [(start + step * i + 0.000123 * i, line) for i, line in enumerate(lines)]
    since = _int_param(req, "sinceSeconds")
    if since is not None:
        stamped = [(t, line) for t, line in stamped if t >= time.time() - since]
    if req.param("sinceTime"):
        cutoff = parse(req.param("sinceTime"))
        stamped = [(t, line) for t, line in stamped if t >= cutoff]
    tail = _int_param(req, "tailLines")
    if tail is not None and tail >= 0:
        stamped = stamped[len(stamped) - tail:] if tail else []
    show_time = req.flag("timestamps")
    out = [(f"{_stamp(t)} {line}\n" if show_time else f"{line}\n").encode() for t, line in stamped]
    limit = _int_param(req, "limitBytes")
    if limit is not None:
        if limit <= 0:
            raise ApiError(422, f"limitBytes: Invalid value: {limit}: must be greater than 0", "Invalid")
        out = [b"".join(out)[:limit]]
    if req.flag("follow"):
        return Response(200, b"", "text/plain", stream=_follow(out))
    return Response(200, b"".join(out), "text/plain")


def _follow(chunks: list[bytes]) -> Iterator[bytes]:
    """Stream the lines, then end as a terminated container's log does."""
    for chunk in chunks:
        if chunk:
            yield chunk
