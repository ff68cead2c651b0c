"""Run inside a --confine sandbox: N brokered calls through the real client, in rounds, from T threads.

usage: broker_load.py CALLS ROUNDS THREADS ARGV...   (each call's stdout and stderr go to /dev/null)
After each round it prints `round I CODE=COUNT ...` and waits for the file `go-I` in the working dir.
"""

import collections
import json
import os
import sys
import threading
import time

from kro.shims.broker_client import forward

calls, rounds, threads = (int(v) for v in sys.argv[1:4])
argv = sys.argv[4:]
with open("/run/kro/session.json", "rb") as handle:
    session = json.loads(handle.read())
report = os.fdopen(os.dup(1), "w")
null = os.open(os.devnull, os.O_WRONLY)
os.dup2(null, 1)
os.dup2(null, 2)


def run_round(calls: int, threads: int) -> collections.Counter[int]:
    """`calls` calls from `threads` threads; how many ended with each exit code."""
    codes: collections.Counter[int] = collections.Counter()
    lock = threading.Lock()
    left = [calls]

    def worker() -> None:
        while True:
            with lock:
                if not left[0]:
                    return
                left[0] -= 1
            code = forward(session["broker"], session["broker_token"], "kubectl", argv, session.get("output"))
            with lock:
                codes[code] += 1

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return codes


for round_ in range(rounds):
    codes = run_round(calls, threads)
    print(f"round {round_}", *(f"{c}={n}" for c, n in sorted(codes.items())), file=report, flush=True)
    while not os.path.exists(f"go-{round_}"):
        time.sleep(0.01)
