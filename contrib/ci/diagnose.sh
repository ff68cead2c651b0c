#!/bin/sh
# Read-only cluster diagnostics for CI jobs and on-call hand-offs.
#
#   kro-run --output plain --audit-log audit.jsonl -- contrib/ci/diagnose.sh
#
# Under kro-run every kubectl call below goes through kro's read-only shim: pinned to one context,
# checked against the policy, recorded in the audit log. The script only reads, and it never fails
# the job because one read was blocked (exit 77) or a resource is missing: each step reports its own
# outcome and the script goes on. It exits 0 unless DIAGNOSE_STRICT=1 and a read failed.
#
# Environment:
#   DIAGNOSE_NAMESPACE  look at one namespace instead of all (needed with kro-run --namespace,
#                       which blocks -A)
#   DIAGNOSE_MAX_PODS   describe at most this many unhealthy pods (default 10)
#   DIAGNOSE_TIMEOUT    kubectl's --request-timeout for each read (default 20s)
#   DIAGNOSE_STRICT     1: exit 1 when a read failed (blocked reads never fail the job)
set -u

TIMEOUT=${DIAGNOSE_TIMEOUT:-20s}
MAX_PODS=${DIAGNOSE_MAX_PODS:-10}
if [ -n "${DIAGNOSE_NAMESPACE:-}" ]; then
  SCOPE="--namespace=$DIAGNOSE_NAMESPACE"
else
  SCOPE="--all-namespaces"
fi
OK=0
FAILED=0
BLOCKED=0

if ! command -v kubectl >/dev/null 2>&1; then
  echo "diagnose: kubectl is not on PATH; install it (or run this under kro-run)" >&2
  exit 69
fi

# step TITLE ARGS...: run one kubectl read, print its output, count how it went.
step() {
  title=$1
  shift
  printf '\n=== %s\n$ kubectl %s\n' "$title" "$*"
  kubectl --request-timeout="$TIMEOUT" "$@" </dev/null
  rc=$?
  case $rc in
    0) OK=$((OK + 1)) ;;
    77) BLOCKED=$((BLOCKED + 1)); echo "(blocked by kro's read-only policy; skipped)" ;;
    *) FAILED=$((FAILED + 1)); echo "(kubectl exited $rc; continuing)" ;;
  esac
  return 0
}

step "client and server versions" version
step "API server readiness" get --raw "/readyz?verbose"
step "nodes" get nodes -o wide
step "node usage (needs metrics-server)" top nodes
step "pods" get pods "$SCOPE" -o wide
step "workloads" get deployments,statefulsets,daemonsets "$SCOPE"
step "warning events" get events "$SCOPE" --field-selector=type=Warning --sort-by=.lastTimestamp

# Unhealthy pods: not Running/Succeeded, a waiting container (CrashLoopBackOff, ImagePullBackOff…),
# or Running but not ready. Those that crash-loop or restarted also get their previous container's logs.
COLUMNS='NS:.metadata.namespace,NAME:.metadata.name,PHASE:.status.phase'
COLUMNS="$COLUMNS,READY:.status.containerStatuses[*].ready"
COLUMNS="$COLUMNS,WAITING:.status.containerStatuses[*].state.waiting.reason"
COLUMNS="$COLUMNS,RESTARTS:.status.containerStatuses[*].restartCount"
printf '\n=== unhealthy pods\n'
pods=$(kubectl --request-timeout="$TIMEOUT" get pods "$SCOPE" --no-headers -o "custom-columns=$COLUMNS" </dev/null)
rc=$?
case $rc in
  0) OK=$((OK + 1)) ;;
  77) BLOCKED=$((BLOCKED + 1)); echo "(listing pods was blocked by kro's read-only policy; skipped)" ;;
  *) FAILED=$((FAILED + 1)); echo "(listing pods failed with exit $rc; skipped)" ;;
esac
unhealthy=$(printf '%s\n' "$pods" | awk '
  NF >= 6 {
    bad = ($3 != "Running" && $3 != "Succeeded") || $5 != "<none>" || ($3 == "Running" && $4 ~ /false/)
    crash = ($5 ~ /CrashLoopBackOff/)
    n = split($6, restarts, ",")
    for (i = 1; i <= n; i++) if (restarts[i] + 0 > 0) crash = 1
    if (bad) print $1, $2, (crash ? "crash" : "unhealthy")
  }' | head -n "$MAX_PODS")
if [ -z "$unhealthy" ]; then
  echo "none found"
else
  printf '%s\n' "$unhealthy"
  while read -r ns name kind; do
    step "describe $ns/$name" describe pod "$name" --namespace="$ns"
    if [ "$kind" = crash ]; then
      step "previous logs of $ns/$name" logs "$name" --namespace="$ns" --previous --all-containers --tail=200
    fi
  done <<EOF
$unhealthy
EOF
fi

printf '\n=== summary\n%s read(s) ok, %s failed, %s blocked by kro\n' "$OK" "$FAILED" "$BLOCKED"
if [ "${DIAGNOSE_STRICT:-0}" = 1 ] && [ "$FAILED" -gt 0 ]; then
  exit 1
fi
exit 0
