#!/usr/bin/env bash
# Issue 15's speed check for text generation, in one run, loopback only, bounded in time (~7 minutes
# with the defaults). Two decoders that text/make_gpt_bench.py builds once into $out/gen with
# Debian's python3-torch, both never ending early (their end-of-sequence token is never chosen):
# the gpt2-tiny fixture's shape (2 layers, hidden 32) and a larger one (4 layers, hidden 256).
#   bare       text/GenerateBare.java: one greedy loop over the same ONNX session settings with the
#              same KV cache handling, in process, no HTTP, one sequence at a time
#   stream_N   ServeML's POST /v1/completions "stream": true (SSE, usage in the last chunk) with N
#              streams at once (1, 4, 16), text/stream.mjs under node; completion tokens per second
#              over the wall time, and the time to the first token
#   serial_16  16 streams at once against a second server with SERVEML_GENERATION_MAX_SEQUENCES=1:
#              the same streams served one at a time (no continuous batching)
# Figures: stream_1 / bare (target >= 0.85) and stream_16 / serial_16 (target >= 4), medians of
# ROUNDS rounds, every scenario once per round, side by side. Knobs: ROUNDS (3), SECONDS_PER_ROUND
# (8), WARMUP_SECONDS (20, per server: past the JIT), MAX_TOKENS (48), MODELS (tiny,l4).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need curl curl; need zip zip; need node nodejs
rounds=${ROUNDS:-3}; seconds=${SECONDS_PER_ROUND:-8}; warm=${WARMUP_SECONDS:-20}; max_tokens=${MAX_TOKENS:-48}
models=${MODELS:-tiny,l4}
gen="$out/gen"
for port in 18190 18191; do
  ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "port $port is taken: stop what runs there" >&2; exit 1; }
done
/usr/bin/python3 "$bench_root/text/make_gpt_bench.py" "$gen"
declare -A repo=([tiny]="$gen/gpt2-tiny-noeos" [l4]="$gen/gpt2-l4-h256")
declare -A title=([tiny]="tiny decoder (2 layers, hidden 32, 64 positions)" [l4]="decoder (4 layers, hidden 256, 256 positions)")
for m in ${models//,/ }; do
  [ -f "$gen/$m.zip" ] || (cd "$(dirname "${repo[$m]}")" && zip -q -r -0 "$gen/$m.zip" "$(basename "${repo[$m]}")")
done
jar="$repo_root/server/target/serveml.jar"   # a stale JAR would measure old code
if [ ! -f "$jar" ] || [ -n "$(find "$repo_root/server/src/main" -newer "$jar" -print -quit)" ]; then
  (cd "$repo_root" && mvn -B -q -o -pl server -DskipTests package)
fi
common=(SERVEML_AUTH=off SERVEML_CACHE=off SERVEML_RATE_LIMIT=100000000)
start_serveml 18190 "${common[@]}"
start_serveml 18191 "${common[@]}" SERVEML_GENERATION_MAX_SEQUENCES=1
for port in 18190 18191; do
  for m in ${models//,/ }; do
    curl -sf -F file=@"$gen/$m.zip" "http://127.0.0.1:$port/api/v1/models/gen_$m/versions" >/dev/null
    for _ in $(seq 1 300); do
      curl -sf -H 'Content-Type: application/json' -d '{"inputs": "the movie", "parameters": {"max_new_tokens": 2}}' \
        "http://127.0.0.1:$port/api/v1/models/gen_$m/predict" 2>/dev/null | grep -q generated_text && break; sleep 0.2
    done
  done
done
prompts="$gen/prompts.txt"
stream() { # port model concurrency seconds -> JSON line
  node "$bench_root/text/stream.mjs" "http://127.0.0.1:$1/v1/completions" "gen_$2" "$3" "$4" "$max_tokens" "$prompts"
}
bare() { # model seconds -> JSON line
  java --enable-native-access=ALL-UNNAMED -Xmx512m -cp "$jar" "$bench_root/text/GenerateBare.java" "${repo[$1]}" \
    "$prompts" "$2" 3 "$max_tokens" 2>>"$out/generate-bare.log" | tail -1
}
field() { node -e 'const o = JSON.parse(process.argv[1]); console.log(o[process.argv[2]])' "$1" "$2"; }
for m in ${models//,/ }; do   # warm-up past the JIT, each server
  stream 18190 "$m" 4 "$warm" >/dev/null; stream 18191 "$m" 4 $(( warm / 2 )) >/dev/null
done
: > "$out/generate-rounds.tsv"
for r in $(seq 1 "$rounds"); do
  for m in ${models//,/ }; do
    line=$(bare "$m" "$seconds"); printf '%s\t%s\tbare\t%s\n' "$r" "$m" "$line" | tee -a "$out/generate-rounds.tsv" >&2
    for c in 1 4 16; do
      line=$(stream 18190 "$m" "$c" "$seconds")
      printf '%s\t%s\tstream_%s\t%s\n' "$r" "$m" "$c" "$line" | tee -a "$out/generate-rounds.tsv" >&2
    done
    line=$(stream 18191 "$m" 16 "$seconds"); printf '%s\t%s\tserial_16\t%s\n' "$r" "$m" "$line" | tee -a "$out/generate-rounds.tsv" >&2
  done
done
median_of() { # model scenario field
  awk -F'\t' -v m="$1" -v s="$2" '$2 == m && $3 == s {print $4}' "$out/generate-rounds.tsv" \
    | while read -r l; do field "$l" "$3"; done | median
}
echo
echo "## Text generation ($(nproc) cores, $rounds rounds of ${seconds}s, max_tokens $max_tokens, greedy; medians)"
for m in ${models//,/ }; do
  echo
  echo "### ${title[$m]}"
  echo
  echo "| scenario | tokens/s | time to first token p50 (ms) |"
  echo "|---|---|---|"
  for s in bare stream_1 stream_4 stream_16 serial_16; do
    printf '| %s | %.0f | %.2f |\n' "$s" "$(median_of "$m" "$s" tokens_per_s)" "$(median_of "$m" "$s" ttft_p50_ms)"
  done
  ratio() { # model scenario over-scenario -> the median of the per-round ratios
    for r in $(seq 1 "$rounds"); do
      a=$(awk -F'\t' -v r="$r" -v m="$1" -v s="$2" '$1 == r && $2 == m && $3 == s {print $4}' "$out/generate-rounds.tsv")
      o=$(awk -F'\t' -v r="$r" -v m="$1" -v s="$3" '$1 == r && $2 == m && $3 == s {print $4}' "$out/generate-rounds.tsv")
      awk -v a="$(field "$a" tokens_per_s)" -v o="$(field "$o" tokens_per_s)" 'BEGIN { printf "%.3f\n", a / o }'
    done | median
  }
  echo
  printf 'stream_1 / bare = %.2f (target >= 0.85); stream_16 / serial_16 = %.2fx (target >= 4x); per-round ratios, medians\n' \
    "$(ratio "$m" stream_1 bare)" "$(ratio "$m" stream_16 serial_16)"
done
