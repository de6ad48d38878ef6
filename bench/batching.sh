#!/usr/bin/env bash
# Issue 5's speed check: mlp_wide.onnx (256 -> 512 -> 512 -> 10) at 64 connections, dynamic
# batching off (SERVEML_MAX_BATCH_SIZE=1) against on (64 rows, 2 ms), two servers from the same
# JAR in the same run, A/B rounds alternated, medians printed with the ratio, then the batch sizes
# the server actually made (from /metrics). Loopback only; about 2 minutes.
# Knobs: ROUNDS, SECONDS_PER_ROUND, CONNECTIONS, BATCH, DELAY, PROTOCOL, THREADS (SERVEML_INFERENCE_THREADS),
# INTRA_OP (SERVEML_ONNX_INTRA_OP_THREADS).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need wrk wrk
rounds=${ROUNDS:-3}; seconds=${SECONDS_PER_ROUND:-10}; conns=${CONNECTIONS:-64}
batch=${BATCH:-64}; delay=${DELAY:-2ms}
tuning=()
[ -n "${THREADS:-}" ] && tuning+=(SERVEML_INFERENCE_THREADS="$THREADS")
[ -n "${INTRA_OP:-}" ] && tuning+=(SERVEML_ONNX_INTRA_OP_THREADS="$INTRA_OP")
# PROTOCOL=v2-binary sends the row as raw FP32 bytes to V2 infer instead of native JSON numbers.
protocol=${PROTOCOL:-native}
lua="$bench_root/mlp_wide.lua"; route=api/v1/models/mlp/predict
if [ "$protocol" = v2-binary ]; then lua="$bench_root/mlp_wide_v2_binary.lua"; route=v2/models/mlp/infer; fi
fixtures
# A stale JAR would measure old code: rebuild when any source is newer.
jar="$repo_root/server/target/serveml.jar"
if [ ! -f "$jar" ] || [ -n "$(find "$repo_root/server/src/main" -newer "$jar" -print -quit)" ]; then
  (cd "$repo_root" && mvn -B -q -o -DskipTests package)
fi
start_serveml 18081 SERVEML_AUTH=off SERVEML_CACHE=off SERVEML_MAX_BATCH_SIZE=1 "${tuning[@]}"
start_serveml 18082 SERVEML_AUTH=off SERVEML_CACHE=off SERVEML_MAX_BATCH_SIZE="$batch" SERVEML_MAX_QUEUE_DELAY="$delay" "${tuning[@]}"
for port in 18081 18082; do
  curl -sf -F file=@"$out/mlp_wide.onnx" "http://127.0.0.1:$port/api/v1/models/mlp/versions" >/dev/null
done
a=http://127.0.0.1:18081/$route; b=http://127.0.0.1:18082/$route
curl -sf -H 'Content-Type: application/json' -d "{\"features\":[$(seq -s, 1 256 | sed 's/[0-9]*/0.01/g')]}" http://127.0.0.1:18082/api/v1/models/mlp/predict \
  | grep -q '"predictions"' || { echo "the batching server does not answer a predict" >&2; exit 1; }
wrk_run "$a" "$conns" 3 "$lua" >/dev/null; wrk_run "$b" "$conns" 3 "$lua" >/dev/null   # warm-up
: > "$out/batching.a"; : > "$out/batching.b"
for r in $(seq 1 "$rounds"); do
  wrk_run "$a" "$conns" "$seconds" "$lua" >> "$out/batching.a"
  wrk_run "$b" "$conns" "$seconds" "$lua" >> "$out/batching.b"
done
printf '%-38s %10s %9s %9s %8s\n' "mlp_wide.onnx ($protocol), wrk -c$conns" "req/s" "p50 ms" "p99 ms" "non-2xx"
for side in a b; do
  name=$([ $side = a ] && echo "batching off (max batch 1)" || echo "batching on (max $batch, $delay)")
  printf '%-38s %10.0f %9.2f %9.2f %8s\n' "$name" "$(cut -d' ' -f1 "$out/batching.$side" | median)" \
    "$(cut -d' ' -f2 "$out/batching.$side" | median)" "$(cut -d' ' -f3 "$out/batching.$side" | median)" \
    "$(cut -d' ' -f4 "$out/batching.$side" | paste -sd+ | bc)"
done
ra=$(cut -d' ' -f1 "$out/batching.a" | median); rb=$(cut -d' ' -f1 "$out/batching.b" | median)
pa=$(cut -d' ' -f3 "$out/batching.a" | median); pb=$(cut -d' ' -f3 "$out/batching.b" | median)
awk -v a="$ra" -v b="$rb" -v pa="$pa" -v pb="$pb" 'BEGIN { printf "throughput ratio on/off: %.2fx (target >= 3x); p99 on/off: %.2f\n", b/a, pb/pa }'
metrics=$(curl -sf http://127.0.0.1:18082/metrics)
awk '/^serveml_batch_size_rows_(sum|count)\{model="mlp"/ { v[$1 ~ /_sum/ ? "s" : "c"] = $2 }
     /^serveml_queue_time_seconds_(sum|count)\{model="mlp"/ { q[$1 ~ /_sum/ ? "s" : "c"] = $2 }
     END { if (v["c"] > 0) printf "batching on: %d model calls, %.1f rows per call on average, %.2f ms mean queue time\n", v["c"], v["s"] / v["c"], 1000 * q["s"] / q["c"] }' <<<"$metrics"
grep '^serveml_batch_size_rows_bucket{model="mlp"' <<<"$metrics" | sed 's/.*le="\([^"]*\)"} \(.*\)/  calls with <= \1 rows: \2/' | tr '\n' ';' | sed 's/;  /; /g; s/;$/\n/'
# Where the time goes: the model's own time per request on each server (the rest is HTTP, JSON and hand-offs).
for port in 18081 18082; do
  curl -sf "http://127.0.0.1:$port/metrics" | awk -v port="$port" '
    /^serveml_inference_seconds_(sum|count)\{model="mlp"/ { i[$1 ~ /_sum/ ? "s" : "c"] = $2 }
    /^serveml_batch_size_rows_sum\{model="mlp"/ { rows = $2 }
    /^process_cpu_time_ns_total/ { cpu = $2 }
    END { printf "server :%s: model time %.1f us per request (%.0f us per call), server CPU %.0f s in all\n", port,
          1e6 * i["s"] / rows, 1e6 * i["s"] / i["c"], cpu / 1e9 }'
done
echo "machine: $(nproc) cores, $(java -version 2>&1 | head -1), rounds=$rounds x ${seconds}s${tuning[*]:+, ${tuning[*]}}"
