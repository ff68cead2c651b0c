"""`kro demo`: serve the bundled demo cluster until interrupted."""

from __future__ import annotations

import argparse
import signal
import tempfile
import threading
from pathlib import Path
from types import FrameType

from kro.democluster.server import CONTEXT, OTHER_CONTEXT, DemoCluster
from kro.shims.errors import ConfigError, KroError

DESCRIPTION = f"""\
Serve the bundled demo cluster: a read-only Kubernetes API on 127.0.0.1 that the real kubectl
talks to. It holds namespaces demo and kube-system (Deployment web with a crash-looping pod,
Service, ConfigMap app-config, Secret db-creds, Events, nodes, ...), all fake data. Every request
is logged; anything but GET/HEAD (except self-subject reviews) is answered 405.

The kubeconfig has contexts {CONTEXT} (current) and {OTHER_CONTEXT}, both pointing here."""

EXAMPLES = """\
examples:
  kro demo --write-kubeconfig /tmp/demo.kubeconfig
  KUBECONFIG=/tmp/demo.kubeconfig kubectl get pods
  kro demo --port 8080 --token s3cret --request-log /tmp/demo-requests.jsonl
  kro demo --pods 5000          # scale Deployment web for benchmarks"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kro demo", description=DESCRIPTION, epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--port", type=int, default=0, metavar="N",
                        help="port on 127.0.0.1 to listen on (default: 0, any free port)")
    parser.add_argument("--write-kubeconfig", type=Path, metavar="PATH",
                        help="where to write the kubeconfig (default: a temporary file removed on exit)")
    parser.add_argument("--request-log", type=Path, metavar="PATH",
                        help="append one JSON line per request (method, path, query, status)")
    parser.add_argument("--token", metavar="T",
                        help="require this bearer token (401 without it); serves HTTPS with a bundled "
                        "self-signed localhost certificate, since kubectl sends tokens only over TLS; "
                        "the kubeconfig carries the token and the CA")
    parser.add_argument("--pods", type=int, metavar="N",
                        help="scale Deployment web so the cluster holds N pods (for benchmarks)")
    return parser


def main(argv: list[str]) -> int:
    """Entry point of `kro demo`."""
    args = build_parser().parse_args(argv)
    if args.pods is not None and args.pods < 0:
        build_parser().error("--pods must be >= 0")
    if args.request_log is not None:
        try:
            args.request_log.open("ab").close()
        except OSError as exc:
            reason = exc.strerror or exc
            raise ConfigError(f"cannot open the request log {args.request_log}: {reason}") from exc
    try:
        demo = DemoCluster(port=args.port, token=args.token, pods=args.pods, request_log=args.request_log)
    except OSError as exc:
        raise KroError(f"cannot serve on 127.0.0.1:{args.port}: {exc.strerror or exc}") from exc
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with tempfile.TemporaryDirectory(prefix="kro-demo-") as tmp, demo:
            target = args.write_kubeconfig or Path(tmp) / "kubeconfig"
            try:
                kubeconfig = demo.write_kubeconfig(target)
            except OSError as exc:
                raise ConfigError(f"cannot write the kubeconfig {target}: {exc.strerror or exc}") from exc
            print(f"kro demo: serving {demo.url} (kubeconfig: {kubeconfig}, context {CONTEXT})", flush=True)
            while not stop.wait(0.5):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
