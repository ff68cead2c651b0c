"""Benchmark the API proxy's pure parts: decide_request per second, scrub/redact time on a big pod list.

Run: .venv/bin/python tests/bench/bench_api_policy.py   (prints figures; not a test)
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import orjson

from kro.shims.api_policy import ApiPins, ApiRequest, decide_request
from kro.shims.api_scrub import redact_objects, scrub_secrets
from kro.shims.decide import decide_argv
from kro.shims.model import Pins

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: kro_testing knows where ../shared is
from kro_testing import shared_path

TRACES = shared_path("fixtures", "kube-apiserver-1.36", "traces")
FALLBACK = [
    ("GET", "/api/v1/namespaces/demo/pods?limit=500"),
    ("GET", "/apis/apps/v1/namespaces/demo/deployments/web"),
    ("DELETE", "/api/v1/namespaces/demo/pods/web-1"),
    ("GET", "/api/v1/namespaces/demo/pods/web-1/exec?command=sh"),
    ("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"),
]


def _requests() -> list[ApiRequest]:
    pairs = []
    for path in sorted(TRACES.glob("*.json")):
        pairs += [(r["method"], r["url"]) for r in json.loads(path.read_text())["requests"]]
    out = []
    if not pairs:
        print(f"{TRACES} not found: measuring {len(FALLBACK)} requests instead", file=sys.stderr)
    for method, url in pairs or FALLBACK:
        raw, _, query = url.partition("?")
        out.append(
            ApiRequest(method, raw, query, (("accept", "application/json"), ("user-agent", "kubectl")))
        )
    return out


def _namespaced(group_version: str, resource: str) -> bool | None:
    return resource not in ("nodes", "namespaces", "persistentvolumes")


def _pod(i: int) -> dict[str, object]:
    env = [{"name": "DB_PASSWORD", "value": f"pw-{i}"}, {"name": "MODE", "value": "prod"}]
    container = {"name": "web", "image": "registry.example/web:1.4.2", "env": env, "args": ["--port=8080"]}
    template = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [container]}}
    return {
        "metadata": {
            "name": f"web-{i}",
            "namespace": "demo",
            "labels": {"app": "web", "pod-template-hash": "5c687b4c5f"},
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": json.dumps(template) + "\n"},
        },
        "spec": {
            "volumes": [{"name": "kube-api-access", "projected": {"sources": [{"serviceAccountToken": {
                "expirationSeconds": 3607, "path": "token"}}]}}],
            "containers": [container],
            "nodeName": "node-1",
        },
        "status": {"phase": "Running", "podIP": f"10.0.{i // 250}.{i % 250}"},
    }  # fmt: skip


def main() -> None:
    """Print the figures README quotes."""
    requests = _requests()
    for pins in (ApiPins(), ApiPins(namespaces=("shop",), redact=True)):
        rounds = max(1, 200_000 // len(requests))
        start = time.perf_counter()
        for _ in range(rounds):
            for req in requests:
                decide_request(req, pins, _namespaced)
        took = time.perf_counter() - start
        n = rounds * len(requests)
        print(f"decide_request {pins}: {n / took:,.0f} decisions/s ({took / n * 1e6:.1f} µs each)")
    start = time.perf_counter()
    for _ in range(20_000):
        decide_argv("kubectl", ["get", "pods", "-n", "demo"], Pins(context="prod"))
    took = time.perf_counter() - start
    print(f"for scale, the shim's decide_argv on 'get pods -n demo': {20_000 / took:,.0f} decisions/s")
    for count in (500, 5000):
        body = orjson.dumps({"kind": "PodList", "apiVersion": "v1", "items": [_pod(i) for i in range(count)]})
        parse = scrub = redact = float("inf")
        for _ in range(3):  # best of 3: the machine is shared
            start = time.perf_counter()
            doc = orjson.loads(body)
            parse = min(parse, time.perf_counter() - start)
            start = time.perf_counter()
            scrub_secrets(doc)
            scrub = min(scrub, time.perf_counter() - start)
            start = time.perf_counter()
            _, redacted = redact_objects(doc)
            redact = min(redact, time.perf_counter() - start)
        print(
            f"{count} pods ({len(body) / 2**20:.1f} MiB JSON): parse {parse * 1000:.0f} ms, "
            f"scrub_secrets {scrub * 1000:.0f} ms, redact_objects {redact * 1000:.0f} ms "
            f"({redacted} values redacted)"
        )


if __name__ == "__main__":
    main()
