"""Benchmark the session API proxy (figures, not a test).

Prints:
- `kubectl get pods -n demo` through the proxy vs straight to the (TLS) demo cluster, paired: median added ms;
- the proxy's peak RSS for `kubectl get pods -A -o json` at 500 and 5,000 pods, plain (streamed) and
  envelope (objects redacted), kubectl's default chunking and --chunk-size=0; envelope time / plain time;
- watch event latency: server send to client receipt, straight vs through the proxy (streamed and scrubbed);
- a cluster 20 ms away (a relay delaying each direction by 10 ms, on 127.0.0.1): bare kubectl vs
  kubectl through the proxy vs through `kubectl proxy`;
- (--envtest) 50 watches abandoned by their clients, then 100 reads: how long each read takes, and the
  proxy's descriptors before and after.
Run: .venv/bin/python tests/bench/bench_proxy.py [--runs 15] [--pods 5000] [--envtest] [--only-abandoned]
(--envtest: the relay figures against a real kube-apiserver too, HTTP/2 and TLS; needs KUBEBUILDER_ASSETS)
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the shared test helpers
from kro_testing import drop_after_head

from kro.democluster.server import DemoCluster
from kro.democluster.testing import kubectl_env

TOKEN = "bench-token-0123456789abcdef"
_PROXY_MAIN = """
import base64, json, os, sys
from kro.sandbox.proxy.server import start
from kro.shims.api_policy import ApiPins
doc, redact, audit = json.loads(sys.argv[1]), sys.argv[2] == "1", sys.argv[3]
h = start(doc, dict(os.environ), ApiPins(redact=redact), audit, "bench", doc["current-context"])
print(json.dumps({"url": h.url, "token": h.token, "ca": base64.b64encode(h.ca).decode()}), flush=True)
sys.stdin.read()
h.stop()
"""


@contextmanager
def proxy_process(upstream: dict[str, Any], base: Path, *, redact: bool = False) -> Iterator[dict[str, Any]]:
    """The proxy in its own process (so its memory is its own); yields url, token, ca, pid, kubeconfig."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _PROXY_MAIN,
            json.dumps(upstream),
            "1" if redact else "0",
            str(base / "audit.jsonl"),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdin is not None
    info = json.loads(proc.stdout.readline())
    context = upstream["current-context"]
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": context,
        "clusters": [
            {"name": "p", "cluster": {"server": info["url"], "certificate-authority-data": info["ca"]}}
        ],
        "users": [{"name": "p", "user": {"token": info["token"]}}],
        "contexts": [{"name": context, "context": {"cluster": "p", "user": "p"}}],
    }
    path = base / f"proxy-kubeconfig-{proc.pid}"
    path.write_text(yaml.safe_dump(config))
    try:
        yield {**info, "pid": proc.pid, "kubeconfig": path}
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)


def peak_rss_mib(pid: int) -> float:
    """VmHWM of a live process, in MiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmHWM:")[1].split()[0]) / 1024


def minified(doc: dict[str, Any], context: str) -> dict[str, Any]:
    """One context of a kubeconfig, with its cluster and user."""
    ctx = next(c for c in doc["contexts"] if c["name"] == context)
    cluster = next(c for c in doc["clusters"] if c["name"] == ctx["context"]["cluster"])
    user = next(u for u in doc["users"] if u["name"] == ctx["context"]["user"])
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": context,
        "contexts": [ctx],
        "clusters": [cluster],
        "users": [user],
    }


def kubectl(kubeconfig: Path, cache: Path, *args: str, server: str | None = None) -> float:
    """Seconds one kubectl call takes (output discarded)."""
    argv = ["kubectl", f"--kubeconfig={kubeconfig}", f"--cache-dir={cache}", *args]
    if server:
        argv.append(f"--server={server}")
    start = time.perf_counter()
    subprocess.run(argv, env=kubectl_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def paired(
    a: tuple[Path, Path], b: tuple[Path, Path], args: tuple[str, ...], runs: int
) -> tuple[float, float]:
    """Median seconds of the same call with two kubeconfigs, alternating (discovery caches warmed first)."""
    kubectl(*a, *args), kubectl(*b, *args)
    ta, tb = [], []
    for _ in range(runs):
        ta.append(kubectl(*a, *args))
        tb.append(kubectl(*b, *args))
    return statistics.median(ta), statistics.median(tb)


def latency(demo: DemoCluster, base: Path, runs: int) -> None:
    """Added latency of the proxy on a small read, paired with the same kubectl straight to the server."""
    direct = demo.write_kubeconfig(base / "direct-kubeconfig")
    with proxy_process(minified(demo.kubeconfig(), "kro-demo"), base) as p:
        d, v = paired(
            (direct, base / "c1"), (p["kubeconfig"], base / "c2"), ("get", "pods", "-n", "demo"), runs
        )
    print(
        f"get pods -n demo: straight {d * 1000:.1f} ms, through the proxy {v * 1000:.1f} ms "
        f"(medians of {runs}, paired): added {(v - d) * 1000:+.1f} ms"
    )


def _list_mib(demo: DemoCluster) -> float:
    """The size of the whole pod list as the server sends it."""
    import urllib.request

    ca = base64.b64decode(demo.kubeconfig()["clusters"][0]["cluster"]["certificate-authority-data"]).decode()
    request = urllib.request.Request(f"{demo.url}/api/v1/pods", headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, context=ssl.create_default_context(cadata=ca)) as resp:
        return len(resp.read()) / (1 << 20)


def bulk(base: Path, pods: int) -> None:
    """The proxy's peak RSS and the call's time for `get pods -A -o json`, plain vs envelope pins."""
    for count in (500, pods):
        with DemoCluster(port=0, token=TOKEN, pods=count) as demo:
            doc = minified(demo.kubeconfig(), "kro-demo")
            for chunk in ("500", "0"):
                line = []
                times = {}
                for redact in (False, True):
                    with proxy_process(doc, base, redact=redact) as p:
                        cache = base / f"bulk-{count}-{redact}"
                        kubectl(p["kubeconfig"], cache, "get", "pods", "-n", "demo")  # discovery, connections
                        before = peak_rss_mib(p["pid"])
                        t = kubectl(
                            p["kubeconfig"], cache, "get", "pods", "-A", "-o", "json", f"--chunk-size={chunk}"
                        )
                        peak = peak_rss_mib(p["pid"])
                    times[redact] = t
                    mode = "envelope (redacted)" if redact else "plain (streamed)"
                    line.append(
                        f"{mode}: {t:.2f} s, peak RSS {peak:.1f} MiB (+{peak - before:.1f} over idle)"
                    )
                print(
                    f"{count} pods ({_list_mib(demo):.1f} MiB of JSON), "
                    f"get pods -A -o json --chunk-size={chunk}: "
                    + "; ".join(line)
                    + f"; envelope/plain time {times[True] / times[False]:.2f}x"
                )


class _Events(BaseHTTPRequestHandler):
    """An upstream that answers any watch with an event every 100 ms, each stamped with its send time."""

    protocol_version = "HTTP/1.1"
    events = 20

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        secret = "/secrets" in self.path
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for n in range(self.events):
            time.sleep(0.1)
            obj: dict[str, Any] = {
                "kind": "Secret" if secret else "Pod",
                "apiVersion": "v1",
                "metadata": {"name": f"o{n}", "annotations": {"sent": repr(time.time())}},
            }
            if secret:
                obj["data"] = {"password": base64.b64encode(b"value").decode()}
            body = json.dumps({"type": "MODIFIED", "object": obj}).encode() + b"\n"
            self.wfile.write(f"{len(body):x}\r\n".encode() + body + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")


def _watch(url: str, path: str, headers: dict[str, str], verify: ssl.SSLContext | bool) -> list[float]:
    import httpx2 as httpx

    delays = []
    with (
        httpx.Client(verify=verify, headers=headers, timeout=30) as client,
        client.stream("GET", url + path) as resp,
    ):
        for line in resp.iter_lines():
            if line.strip():
                sent = float(json.loads(line)["object"]["metadata"]["annotations"]["sent"])
                delays.append(time.time() - sent)
    return delays


def watch_latency(base: Path) -> None:
    """Per-event delay, send to receipt, for a streamed watch and a scrubbed (secrets) watch."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Events)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "w",
        "contexts": [{"name": "w", "context": {"cluster": "w", "user": "w"}}],
        "clusters": [{"name": "w", "cluster": {"server": url}}],
        "users": [{"name": "w", "user": {}}],
    }
    try:
        with proxy_process(doc, base) as p:
            ca = ssl.create_default_context(cadata=base64.b64decode(p["ca"]).decode())
            auth = {"authorization": f"Bearer {p['token']}"}
            for path, what in (
                ("/api/v1/namespaces/demo/pods?watch=1", "streamed"),
                ("/api/v1/namespaces/demo/secrets?watch=1", "scrubbed per event"),
            ):
                straight = _watch(url, path, {}, False)
                proxied = _watch(p["url"], path, auth, ca)
                print(
                    f"watch event delay ({what}): "
                    f"straight median {statistics.median(straight) * 1000:.2f} ms, "
                    f"through the proxy median {statistics.median(proxied) * 1000:.2f} ms, "
                    f"max {max(proxied) * 1000:.2f} ms ({len(proxied)} events)"
                )
    finally:
        server.shutdown()


class Relay:
    """A TCP relay on 127.0.0.1 that delays every chunk, each direction, by `delay` seconds (order kept)."""

    def __init__(self, target: tuple[str, int], delay: float) -> None:
        self.target, self.delay = target, delay
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self.connections = 0
        ready = threading.Event()
        threading.Thread(target=self._run, args=(ready,), daemon=True).start()
        ready.wait()

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)

        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

            async def later() -> None:
                while True:
                    due, data = await queue.get()
                    await asyncio.sleep(max(0.0, due - self.loop.time()))
                    if not data:
                        writer.close()
                        return
                    writer.write(data)
                    await writer.drain()

            task = asyncio.ensure_future(later())
            while True:
                data = await reader.read(65536)
                await queue.put((self.loop.time() + self.delay, data))
                if not data:
                    break
            await task

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            up_reader, up_writer = await asyncio.open_connection(*self.target)
            up_writer.transport.set_write_buffer_limits(0)
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer), return_exceptions=True)

        async def main() -> None:
            server = await asyncio.start_server(handle, "127.0.0.1", 0)
            self.port = server.sockets[0].getsockname()[1]
            ready.set()
            await asyncio.Event().wait()

        self.loop.run_until_complete(main())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def kubectl_proxy(kubeconfig: Path, context: str) -> Iterator[Path]:
    """`kubectl proxy` on a free port; yields a kubeconfig that points at it."""
    port = _free_port()
    proc = subprocess.Popen(
        ["kubectl", f"--kubeconfig={kubeconfig}", f"--context={context}", "proxy", f"--port={port}"],
        env=kubectl_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    path = kubeconfig.parent / f"kubectl-proxy-{port}"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "kp",
                "clusters": [{"name": "kp", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
                "users": [{"name": "kp", "user": {}}],
                "contexts": [{"name": "kp", "context": {"cluster": "kp", "user": "kp"}}],
            }
        )
    )
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    try:
        yield path
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def far_cluster(
    base: Path, doc: dict[str, Any], context: str, args: tuple[str, ...], runs: int, what: str
) -> None:
    """bare kubectl vs the proxy vs `kubectl proxy`, all reaching the server through a 20 ms RTT relay."""
    cluster = next(
        c
        for c in doc["clusters"]
        if c["name"] == next(x for x in doc["contexts"] if x["name"] == context)["context"]["cluster"]
    )["cluster"]
    host, port = cluster["server"].removeprefix("https://").split(":")
    relay = Relay((host, int(port)), 0.010)
    far = json.loads(json.dumps(doc))
    for entry in far["clusters"]:
        entry["cluster"]["server"] = f"https://127.0.0.1:{relay.port}"
    far["current-context"] = context
    far_path = base / f"far-kubeconfig-{what}"
    far_path.write_text(yaml.safe_dump(far))
    with proxy_process(minified(far, context), base) as p, kubectl_proxy(far_path, context) as kp:
        names = ("bare kubectl", "kro's proxy", "kubectl proxy")
        configs = (
            (far_path, base / f"f1{what}"),
            (p["kubeconfig"], base / f"f2{what}"),
            (kp, base / f"f3{what}"),
        )
        for path, cache in configs:
            kubectl(path, cache, *args)
        times: dict[str, list[float]] = {n: [] for n in names}
        for _ in range(runs):
            for name, (path, cache) in zip(names, configs, strict=True):
                times[name].append(kubectl(path, cache, *args))
    med = {n: statistics.median(t) for n, t in times.items()}
    bare = med["bare kubectl"]
    print(
        f"{what}, 20 ms RTT, kubectl {' '.join(args)} (medians of {runs}): "
        + ", ".join(f"{n} {m * 1000:.0f} ms ({bare / m:.2f}x faster than bare)" for n, m in med.items())
    )


def abandoned_watches(base: Path, doc: dict[str, Any], context: str, watches: int, reads: int) -> None:
    """`watches` watches dropped by their clients (HTTP/2 upstream), then `reads` kubectl gets, timed."""
    with proxy_process(minified(doc, context), base) as info:
        cache = base / "abandon-cache"
        kubectl(info["kubeconfig"], cache, "get", "pods", "-n", "shop")
        idle = len(os.listdir(f"/proc/{info['pid']}/fd"))
        started = time.perf_counter()
        for n in range(watches):
            kind = ("pods", "deployments", "events")[n % 3]
            group = "/apis/apps/v1" if kind == "deployments" else "/api/v1"
            # from resourceVersion 0: the watch opens with the current objects as ADDED events; without a
            # version kube-apiserver v1.36 answers with an error event after ~3 s (a watch that ends is not
            # abandoned)
            drop_after_head(info["url"], base64.b64decode(info["ca"]), info["token"],
                            f"{group}/namespaces/shop/{kind}?watch=1&resourceVersion=0", base)  # fmt: skip
        dropping = time.perf_counter() - started
        took = [kubectl(info["kubeconfig"], cache, "get", "pods", "-n", "shop") for _ in range(reads)]
        time.sleep(1)
        after = len(os.listdir(f"/proc/{info['pid']}/fd"))
    took.sort()
    median, p95 = statistics.median(took) * 1000, took[int(len(took) * 0.95) - 1] * 1000
    print(
        f"real kube-apiserver, {watches} abandoned watches ({dropping:.1f} s) then {reads} `kubectl get "
        f"pods`: median {median:.0f} ms, p95 {p95:.0f} ms, max {took[-1] * 1000:.0f} ms; proxy descriptors "
        f"{idle} idle, {after} after"
    )


def envtest(base: Path, runs: int) -> None:
    """The relay figures against a real kube-apiserver (TLS, HTTP/2), when KUBEBUILDER_ASSETS is set."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
    from envtest_cluster import ADMIN_CONTEXT, start_cluster

    with start_cluster(Path(os.environ["KUBEBUILDER_ASSETS"]), base / "envtest") as cluster:
        doc = yaml.safe_load(cluster.kubeconfig.read_text())
        abandoned_watches(base, doc, ADMIN_CONTEXT, 50, 100)
        far_cluster(base, doc, ADMIN_CONTEXT, ("get", "pods", "-n", "shop"), runs, "real kube-apiserver")


def main() -> None:
    """Print one line per measurement."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--pods", type=int, default=5000)
    parser.add_argument("--envtest", action="store_true")
    parser.add_argument("--only-abandoned", action="store_true", help="just the abandoned-watches figure")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kro-bench-proxy-") as tmp:
        base = Path(tmp)
        if args.only_abandoned:
            sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
            from envtest_cluster import ADMIN_CONTEXT, start_cluster

            with start_cluster(Path(os.environ["KUBEBUILDER_ASSETS"]), base / "envtest") as cluster:
                doc = yaml.safe_load(cluster.kubeconfig.read_text())
                abandoned_watches(base, doc, ADMIN_CONTEXT, 50, 100)
            return
        with DemoCluster(port=0, token=TOKEN) as demo:
            latency(demo, base, args.runs)
            far_cluster(
                base, demo.kubeconfig(), "kro-demo", ("get", "pods", "-n", "demo"), args.runs, "demo cluster"
            )
        watch_latency(base)
        bulk(base, args.pods)
        if args.envtest:
            envtest(base, args.runs)


if __name__ == "__main__":
    main()
