#!/usr/bin/env bash
# Issue 4's speed check: the iris forest (ONNX) through the native predict route with
# authentication (an API key) and rate limiting on, against the same route with SERVEML_AUTH=off,
# same wrk load, A/B rounds alternated, medians and the ratio printed. The response cache is off
# on both, so every request runs the model. Loopback only; ~2 minutes.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need wrk wrk
rounds=${ROUNDS:-3}; seconds=${SECONDS_PER_ROUND:-10}; conns=${CONNECTIONS:-16}
fixtures
start_serveml 18081 SERVEML_CACHE=off SERVEML_ADMIN_PASSWORD=bench-admin-password SERVEML_RATE_LIMIT=100000000
start_serveml 18082 SERVEML_CACHE=off SERVEML_AUTH=off
token=$(curl -sf -H 'Content-Type: application/json' -d '{"username":"admin","password":"bench-admin-password"}' \
  http://127.0.0.1:18081/api/v1/auth/login | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
key=$(curl -sf -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"name":"bench","scopes":["predict","models:write"]}' http://127.0.0.1:18081/api/v1/api-keys \
  | sed -E 's/.*"key":"([^"]+)".*/\1/')
curl -sf -H "Authorization: Bearer $key" -F file=@"$out/iris_rf.onnx" http://127.0.0.1:18081/api/v1/models/iris/versions >/dev/null
curl -sf -F file=@"$out/iris_rf.onnx" http://127.0.0.1:18082/api/v1/models/iris/versions >/dev/null
a=http://127.0.0.1:18081/api/v1/models/iris/predict; b=http://127.0.0.1:18082/api/v1/models/iris/predict
run_a() { WRK_HEADER="Authorization: Bearer $key" wrk_run "$a" "$conns" "$1"; }
run_b() { wrk_run "$b" "$conns" "$1"; }
run_a 3 >/dev/null; run_b 3 >/dev/null
: > "$out/auth.a"; : > "$out/auth.b"
for r in $(seq 1 "$rounds"); do run_a "$seconds" >> "$out/auth.a"; run_b "$seconds" >> "$out/auth.b"; done
printf '%-40s %10s %9s %9s %8s\n' "iris ONNX, wrk -t1 -c$conns" "req/s" "p50 ms" "p99 ms" "non-2xx"
for side in a b; do
  name=$([ $side = a ] && echo "auth on (API key) + rate limits" || echo "auth off")
  printf '%-40s %10.0f %9.2f %9.2f %8s\n' "$name" "$(cut -d' ' -f1 "$out/auth.$side" | median)" \
    "$(cut -d' ' -f2 "$out/auth.$side" | median)" "$(cut -d' ' -f3 "$out/auth.$side" | median)" \
    "$(cut -d' ' -f4 "$out/auth.$side" | median)"
done
ra=$(cut -d' ' -f1 "$out/auth.a" | median); rb=$(cut -d' ' -f1 "$out/auth.b" | median)
awk -v a="$ra" -v b="$rb" 'BEGIN { printf "throughput kept with auth on: %.1f%% (target >= 90%%)\n", 100*a/b }'
echo "machine: $(nproc) cores, $(java -version 2>&1 | head -1), rounds=$rounds x ${seconds}s"
