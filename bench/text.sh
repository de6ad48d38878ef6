#!/usr/bin/env bash
# Issue 14's speed check for Hugging Face text classification, in one run, loopback only, bounded
# in time (~9 minutes with the defaults). Two models: the tiny fixture encoder (2 layers, hidden 32,
# 64 positions) and a larger synthetic one (6 layers, hidden 384, 128 positions) that
# text/make_text_bench.py builds once into $out/text with Debian's python3-torch.
#   bare      text/TextBare.java: DJL HuggingFaceTokenizer + OrtSession.run in a loop on BARE_THREADS
#             threads, in process, no HTTP, at 1, 8 and 32 texts per call. Default: cores + 1, as many
#             as ServeML's inference threads, so that on a machine shared with other work both get the
#             same share of the cores (the scheduler shares them out by runnable thread)
#   served    ServeML's POST /api/v1/models/{name}/predict {"inputs": [...texts...]} with wrk at the
#             same texts per request, SERVED_CONNECTIONS connections, batching off; served / bare
#   batching  TEXT_CONNECTIONS (32) connections, one text per request: a model with batching off against
#             the same repository under a deployment with batching on (max 32 rows, 2 ms)
#   lengths   the same, batching on, mixed traffic (3 short texts of ~6 tokens to 1 long of ~110):
#             grouping by length on (the default) against SERVEML_BATCH_BY_LENGTH=false (a second
#             server, idle the rest of the time)
#   tokenize  the tokenizer alone, one thread: microseconds per request at 1, 8 and 32 texts
# Every round runs every scenario once (bare, then each served scenario); medians of ROUNDS rounds.
# Knobs: ROUNDS (3), SECONDS_PER_ROUND (5), WARMUP_SECONDS (3), TEXT_CONNECTIONS (32),
# SERVED_CONNECTIONS (4), BARE_THREADS (cores + 1), BATCHES (1,8,32), MODELS (tiny,l6).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need wrk wrk; need curl curl; need zip zip
rounds=${ROUNDS:-3}; seconds=${SECONDS_PER_ROUND:-5}; warm=${WARMUP_SECONDS:-3}; conns=${TEXT_CONNECTIONS:-32}
served_conns=${SERVED_CONNECTIONS:-4}; threads=${BARE_THREADS:-$(( $(nproc) + 1 ))}; batches=${BATCHES:-1,8,32}
models=${MODELS:-tiny,l6}
java_flags=(--enable-native-access=ALL-UNNAMED -Xmx512m)
text="$out/text"; lua="$bench_root/text/text.lua"
started_at=$(date +%s); load_before=$(uptime | sed 's/.*load average: //')
for port in 18180 18181; do
  ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "port $port is taken: stop what runs there" >&2; exit 1; }
done
/usr/bin/python3 "$bench_root/text/make_text_bench.py" "$text"
declare -A repo=([tiny]="$repo_root/server/src/test/resources/fixtures/hf/bert-tiny-sst2" [l6]="$text/bert-l6-h384")
declare -A title=([tiny]="tiny encoder (2 layers, hidden 32)" [l6]="synthetic encoder (6 layers, hidden 384)")
for m in ${models//,/ }; do
  # rebuilt when the repository changed (make_hf_fixtures.py ran again)
  [ -f "$text/$m.zip" ] && [ -z "$(find "${repo[$m]}" -newer "$text/$m.zip" -print -quit)" ] || (rm -f "$text/$m.zip"; cd "$(dirname "${repo[$m]}")" && zip -q -r -0 "$text/$m.zip" "$(basename "${repo[$m]}")")
done
jar="$repo_root/server/target/serveml.jar"   # a stale JAR would measure old code
if [ ! -f "$jar" ] || [ -n "$(find "$repo_root/server/src/main" -newer "$jar" -print -quit)" ]; then
  (cd "$repo_root" && mvn -B -q -o -pl server -DskipTests package)
fi

common=(SERVEML_AUTH=off SERVEML_CACHE=off SERVEML_RATE_LIMIT=100000000)
start_serveml 18180 "${common[@]}"; main_pid=${pids[-1]}
start_serveml 18181 "${common[@]}" SERVEML_BATCH_BY_LENGTH=false; flat_pid=${pids[-1]}
deploy() { # port name model
  curl -sf -H 'Content-Type: application/json' -d "{\"name\": \"$2\", \"model\": \"$3\",
    \"policy\": {\"versions\": [{\"version\": 1, \"weight\": 100}]},
    \"config\": {\"max_batch_size\": 32, \"max_queue_delay\": \"2ms\"}}" "http://127.0.0.1:$1/api/v1/deployments" >/dev/null
  for _ in $(seq 1 600); do
    curl -sf "http://127.0.0.1:$1/api/v1/deployments/$2" | grep -q '"status":"active"' && return 0; sleep 0.1
  done; echo "deployment $2 did not become active" >&2; return 1
}
for m in ${models//,/ }; do
  # the same repository twice: $m unbatched (the server's default, max batch 1), ${m}_b under a batching deployment
  for name in "$m" "${m}_b"; do
    curl -sf -F file=@"$text/$m.zip" "http://127.0.0.1:18180/api/v1/models/$name/versions" >/dev/null
  done
  deploy 18180 "$m-on" "${m}_b"
  curl -sf -F file=@"$text/$m.zip" "http://127.0.0.1:18181/api/v1/models/${m}_b/versions" >/dev/null
  deploy 18181 "$m-on" "${m}_b"
  curl -sf -H 'Content-Type: application/json' -d '{"inputs": ["I loved this movie!"]}' \
    "http://127.0.0.1:18180/api/v1/models/$m/predict" | grep -q '"label"' || { echo "$m does not answer" >&2; exit 1; }
done

medium="$text/texts-medium.txt"; mixed="$text/texts-short.txt:3,$text/texts-long.txt:1"
# name | url | texts file(s) | texts per request | connections | server pid
scenarios=()
for m in ${models//,/ }; do
  for b in ${batches//,/ }; do
    scenarios+=("served_${m}_$b|http://127.0.0.1:18180/api/v1/models/$m/predict|$medium|$b|$served_conns|$main_pid")
  done
  scenarios+=("batch_off_$m|http://127.0.0.1:18180/api/v1/models/$m/predict|$medium|1|$conns|$main_pid"
              "batch_on_$m|http://127.0.0.1:18180/api/v1/deployments/$m-on/predict|$medium|1|$conns|$main_pid"
              "mixed_grouped_$m|http://127.0.0.1:18180/api/v1/deployments/$m-on/predict|$mixed|1|$conns|$main_pid"
              "mixed_flat_$m|http://127.0.0.1:18181/api/v1/deployments/$m-on/predict|$mixed|1|$conns|$flat_pid")
done
hz=$(getconf CLK_TCK)
measure() { # scenario-line seconds -> "rps p50 p99 errors cpu%"
  local name url files batch c pid t0 t1 wrk_text
  IFS='|' read -r name url files batch c pid <<<"$1"
  t0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  wrk_text=$(TEXT_FILES="$files" TEXT_BATCH="$batch" wrk -t1 -c"$c" -d"$2"s --latency -s "$lua" "$url")
  t1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  awk -v d=$(( t1 - t0 )) -v hz="$hz" -v s="$2" '
    /Requests\/sec/ {rps = $2} $1 == "50%" {p50 = $2} $1 == "99%" {p99 = $2}
    /Non-2xx/ {e += $5} /Socket errors/ {gsub(",", ""); e += $4 + $6 + $8 + $10}
    function ms(v) { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v !~ /ms$/ && v ~ /s$/) n *= 1000; return n }
    END { printf "%s %.3f %.3f %d %.0f\n", rps, ms(p50), ms(p99), e, 100 * d / hz / s }' <<<"$wrk_text"
}
# The bare loop runs in one JVM for the whole run, taking a command per figure, so each bare figure
# is measured right before the served one it is compared with.
specs=""; for m in ${models//,/ }; do specs+="${specs:+,}$m=${repo[$m]}"; done
coproc BARE { exec java "${java_flags[@]}" -cp "$jar" "$bench_root/text/TextBare.java" "$specs" "$medium" "$threads" \
  2>>"$out/text-bare.log"; }
pids+=("$BARE_PID")
bare_answer() { # the bare JVM's next figure into $answer (its log lines share stdout); not in a subshell,
  local line    # which would not have the coprocess's descriptors
  while read -r line <&"${BARE[0]}"; do
    case $line in bare$'\t'*|tokenize*|ready) answer=$line; return 0 ;; *) echo "$line" >> "$out/text-bare.log" ;; esac
  done; echo "the bare loop stopped: see $out/text-bare.log" >&2; return 1
}
bare() { # round kind model batch seconds warm-up -> a line in text-bare.tsv
  echo "$2 $3 $4 $5 $6" >&"${BARE[1]}"
  bare_answer; printf '%s\t%s\n' "$1" "$answer" | tee -a "$out/text-bare.tsv" >&2
}
bare_answer   # "ready": both models loaded

: > "$out/text-bare.tsv"; : > "$out/text-rounds.tsv"
for s in "${scenarios[@]}"; do measure "$s" "$warm" >/dev/null; done   # warm-up past the JIT
for r in $(seq 1 "$rounds"); do
  for s in "${scenarios[@]}"; do
    name=${s%%|*}
    if [[ $name == served_* ]]; then  # served_<model>_<batch>: the bare figure first
      b=${name##*_}; m=${name#served_}; m=${m%_*}
      bare "$r" bare "$m" "$b" "$seconds" "$warm"
    fi
    printf '%s\t%s\t%s\n' "$name" "$r" "$(measure "$s" "$seconds")" | tee -a "$out/text-rounds.tsv" >&2
  done
  for m in ${models//,/ }; do
    for b in ${batches//,/ }; do
      tok=$(awk -v s="$seconds" 'BEGIN { print (s / 4 > 1 ? s / 4 : 1) }')
      bare "$r" tokenize "$m" "$b" "$tok" 1; bare "$r" tokenize-ids "$m" "$b" "$tok" 1
    done
  done
done
metrics=$(curl -sf http://127.0.0.1:18180/metrics)
flat_metrics=$(curl -sf http://127.0.0.1:18181/metrics)
load_after=$(uptime | sed 's/.*load average: //')

# --- report: medians over the rounds
med() { awk -v k="$1" -v f="$2" -F'\t' '$1 == k {split($3, v, " "); print v[f]}' "$out/text-rounds.tsv" | median; }
bmed() { awk -v k="$1" -v m="$2" -v b="$3" -v f="$4" -F'\t' '$2 == k && $3 == m && $4 == b {print $f}' \
  "$out/text-bare.tsv" | median; }
{
echo "Text classification (issue 14): $rounds rounds x ${seconds}s, ${warm}s warm-up, medians; texts/s = requests/s x texts per request"
for m in ${models//,/ }; do
  echo
  echo "${title[$m]}"
  printf '  %-44s %8s %8s %8s %8s %6s %6s %6s %6s\n' "scenario" "texts/s" "bare" "p50 ms" "p99 ms" "CPU %" "bare %" "x bare" "x /CPU"
  for b in ${batches//,/ }; do
    rps=$(med "served_${m}_$b" 1); bare_tps=$(bmed bare "$m" "$b" 5)
    cpu=$(med "served_${m}_$b" 5); bare_cpu=$(bmed bare "$m" "$b" 9)
    printf '  %-44s %8.0f %8.0f %8.2f %8.2f %6.0f %6.0f %6.2f %6.2f\n' "served, $b texts/request, $served_conns conns" \
      "$(awk -v r="$rps" -v b="$b" 'BEGIN {print r * b}')" "$bare_tps" "$(med "served_${m}_$b" 2)" \
      "$(med "served_${m}_$b" 3)" "$cpu" "$bare_cpu" "$(awk -v r="$rps" -v b="$b" -v t="$bare_tps" 'BEGIN {print r * b / t}')" \
      "$(awk -v r="$rps" -v b="$b" -v t="$bare_tps" -v c="$cpu" -v bc="$bare_cpu" 'BEGIN {print (r * b / c) / (t / bc)}')"
  done
  for s in batch_off batch_on mixed_flat mixed_grouped; do
    case $s in
      batch_off) label="1 text/request, batching off, $conns conns" ;;
      batch_on) label="1 text/request, batching on (32, 2ms)" ;;
      mixed_flat) label="mixed 3 short:1 long, batching, no grouping" ;;
      mixed_grouped) label="mixed 3 short:1 long, batching, by length" ;;
    esac
    printf '  %-44s %8.0f %8s %8.2f %8.2f %6.0f\n' "$label" "$(med "${s}_$m" 1)" "" "$(med "${s}_$m" 2)" \
      "$(med "${s}_$m" 3)" "$(med "${s}_$m" 5)"
  done
  for b in ${batches//,/ }; do
    printf '  tokenizer alone, %2s texts/request: %8.1f us/request (%5.1f us/text); ids, mask and types only: %8.1f us/request\n' \
      "$b" "$(bmed tokenize "$m" "$b" 7)" "$(bmed tokenize "$m" "$b" 8)" "$(bmed tokenize-ids "$m" "$b" 7)"
  done
  for port_metrics in "grouped:$metrics" "flat:$flat_metrics"; do
    awk -v m="${m}_b" -v side="${port_metrics%%:*}" '
      $0 ~ "^serveml_batch_size_rows_sum\\{model=\"" m "\"" {s = $2} $0 ~ "^serveml_batch_size_rows_count\\{model=\"" m "\"" {c = $2}
      END { if (c > 0) printf "  batching deployment (%s server): %.1f rows per model call over the run\n", side, s / c }' \
      <<<"${port_metrics#*:}"
  done
done
echo
echo "target                                              value       goal  met"
for m in ${models//,/ }; do
  for b in ${batches//,/ }; do
    awk -v r="$(med "served_${m}_$b" 1)" -v b="$b" -v t="$(bmed bare "$m" "$b" 5)" -v n="$m served / bare, $b texts/request" \
      'BEGIN { v = r * b / t; printf "%-48s %8.2f %10s  %s\n", n, v, ">= 0.80", (v >= 0.8 ? "yes" : "NO") }'
  done
  awk -v a="$(med "batch_on_$m" 1)" -v o="$(med "batch_off_$m" 1)" -v n="$m batching on / off, $conns conns" \
    'BEGIN { v = a / o; printf "%-48s %8.2f %10s  %s\n", n, v, ">= 2", (v >= 2 ? "yes" : "NO") }'
  first=${batches%%,*}; last=${batches##*,}   # what stacking alone gains, without HTTP: the ceiling of the above
  awk -v a="$(bmed bare "$m" "$last" 5)" -v o="$(bmed bare "$m" "$first" 5)" -v n="$m bare, $last texts/call / $first" \
    'BEGIN { printf "%-48s %8.2f %10s\n", n, a / o, "(ceiling)" }'
  awk -v a="$(med "mixed_grouped_$m" 1)" -v o="$(med "mixed_flat_$m" 1)" -v n="$m mixed lengths, by length / not" \
    'BEGIN { v = a / o; printf "%-48s %8.2f %10s\n", n, v, "(reported)" }'
done
echo
echo "machine: $(nproc) cores, $(java -version 2>&1 | head -1), commit $(git -C "$repo_root" rev-parse --short HEAD), $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "load average before: $load_before; after: $load_after; $(( $(date +%s) - started_at )) s in all; bare on $threads threads"
} | tee "$out/text-table.txt"
