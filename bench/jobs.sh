#!/usr/bin/env bash
# Issue 16's speed check: a ROWS-row CSV (default 1,000,000; id + the four iris features) scored by
# a batch job with examples/iris.onnx, end to end: from the start of the upload (one multipart
# POST /api/v1/jobs) until the result has been downloaded whole, checked (header + ROWS rows, each
# id once, in input order). The JVM's RSS (VmRSS) is sampled every 50 ms during the job: the figure
# is the peak minus the reading just before the upload. The online predict route of the same model
# is measured with wrk without a job, then while a second job runs (wrk stops when that job ends),
# and the p99 ratio is taken per round. Targets: job <= 20 s, RSS growth <= 150 MB, p99 with the
# job <= 2x without. Auth on (an API key with the predict scope), rate limits out of the way, the
# response cache off so that every online request runs the model.
# One server; a warm-up first (a WARMUP_ROWS job under WARMUP_SECONDS of wrk: the JIT of both paths),
# then ROUNDS rounds of: online alone, job alone, job under online load. Loopback only; about
# 25 + ROUNDS * (SECONDS_PER_ROUND + 3.5 x the lone job + 10) seconds (4-8 minutes with the defaults).
# Knobs: ROUNDS (3), SECONDS_PER_ROUND (10), CONNECTIONS (16), WARMUP_SECONDS (20), ROWS (1000000),
# WARMUP_ROWS (200000, the warm-up job's), ROWS_PER_CALL (unset: the server's default), JOB_TIMEOUT
# (180 s per job), CACHE (off),
# THREAD_DUMPS (0: that many jcmd Thread.print, 2 s apart, during round 1's lone job, into out/),
# JOB_WORKERS and JOB_SHARE (unset: the server's SERVEML_JOB_WORKERS and SERVEML_JOB_SHARE).
# Raw figures of every job and wrk window: out/jobs.rounds.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need wrk wrk; need curl curl
rounds=${ROUNDS:-3}; seconds=${SECONDS_PER_ROUND:-10}; conns=${CONNECTIONS:-16}; warm=${WARMUP_SECONDS:-20}
rows=${ROWS:-1000000}; warm_rows=${WARMUP_ROWS:-200000}; job_timeout=${JOB_TIMEOUT:-180}; dumps=${THREAD_DUMPS:-0}
port=18095; base=http://127.0.0.1:$port
model="$repo_root/examples/iris.onnx"
jar="$repo_root/server/target/serveml.jar"
if [ ! -f "$jar" ] || [ -n "$(find "$repo_root/server/src/main" -newer "$jar" -print -quit)" ]; then
  (cd "$repo_root" && mvn -B -q -o -DskipTests package)
fi
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/serveml-jobs-bench.XXXXXX")
bg=()   # wrk and the RSS sampler of the moment, stopped by the trap too
finish() { set +e; for p in "${bg[@]}"; do kill "$p" 2>/dev/null; done; cleanup; rm -rf "$tmp"; }
trap finish EXIT
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# --- the input: ids 1..ROWS in order, features drawn in iris's ranges (a fixed seed)
awk -v n="$rows" 'BEGIN { srand(16); print "id,sepal_length,sepal_width,petal_length,petal_width"
  for (i = 1; i <= n; i++) printf "%d,%.1f,%.1f,%.1f,%.1f\n", i, 4.3 + 3.6 * rand(), 2.0 + 2.4 * rand(),
    1.0 + 5.9 * rand(), 0.1 + 2.4 * rand() }' > "$tmp/rows.csv"
[ "$warm_rows" -lt "$rows" ] && head -n $(( warm_rows + 1 )) "$tmp/rows.csv" > "$tmp/warm.csv" || cp "$tmp/rows.csv" "$tmp/warm.csv"
warm_rows=$(( $(wc -l < "$tmp/warm.csv") - 1 ))
csv_mb=$(awk -v b="$(stat -c %s "$tmp/rows.csv")" 'BEGIN { printf "%.1f", b / 1048576 }')

# --- the server, the way the other benchmarks start it, with an API key
tuning=()
[ -n "${JOB_WORKERS:-}" ] && tuning+=(SERVEML_JOB_WORKERS="$JOB_WORKERS")
[ -n "${JOB_SHARE:-}" ] && tuning+=(SERVEML_JOB_SHARE="$JOB_SHARE")
start_serveml $port SERVEML_ADMIN_PASSWORD=bench-admin-password SERVEML_RATE_LIMIT=100000000 \
  SERVEML_CACHE="${CACHE:-off}" "${tuning[@]}"
jvm=${pids[-1]}
# The embedded PostgreSQL runs outside the JVM's process tree: its CPU is read on its own.
pg=$(pgrep -f -- "-D $out/serveml-data-$port/postgres/data" | head -1 || true)
token=$(curl -sf -H 'Content-Type: application/json' -d '{"username":"admin","password":"bench-admin-password"}' \
  "$base/api/v1/auth/login" | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
key=$(curl -sf -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"name":"bench","scopes":["predict","models:write"]}' "$base/api/v1/api-keys" \
  | sed -E 's/.*"key":"([^"]+)".*/\1/')
auth="Authorization: Bearer $key"
curl -sf -H "$auth" -F file=@"$model" "$base/api/v1/models/iris/versions" >/dev/null
curl -sf -H "$auth" -H 'Content-Type: application/json' -d @"$repo_root/examples/predict.json" \
  "$base/api/v1/models/iris/predict" | grep -q '"predictions"' \
  || { echo "iris does not answer a predict: see $out/serveml-$port.log" >&2; exit 1; }
online=$base/api/v1/models/iris/predict
lua="$bench_root/iris_vary.lua"
export WRK_HEADER="$auth"
spec='{"model":"iris","input_format":"csv","output_format":"csv","passthrough":["id"],'
spec+='"features":["sepal_length","sepal_width","petal_length","petal_width"]'
[ -n "${ROWS_PER_CALL:-}" ] && spec+=",\"rows_per_call\":$ROWS_PER_CALL"
spec+='}'

rss_kb() { local k v _; while read -r k v _; do [ "$k" = VmRSS: ] && { echo "$v"; return; }; done < "/proc/$1/status"; }
sample_rss() { while :; do rss_kb "$1" >> "$2"; sleep 0.05; done; } # pid file, until killed
tree() { local p; echo "$1"; for p in $(pgrep -P "$1" 2>/dev/null); do tree "$p"; done; }
cpu_ticks() { local t=0 p; for p in $(tree "$1"); do
  t=$(( t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0) )); done; echo "$t"; }
pg_ticks() { [ -n "$pg" ] && cpu_ticks "$pg" || echo 0; }  # postmaster and its backends
job_status() { { grep -oE '"status" *: *"[a-z]+"' <<<"$1" || true; } | head -1 | sed -E 's/.*"([a-z]+)"$/\1/'; }
terminal() { case "$1" in completed|failed|cancelled) return 0;; *) return 1;; esac; }

# wait_job id deadline_ms: follows the job's SSE stream (it ends after a terminal status), then reads
# the view; polls every 100 ms should the stream end early or not be there. Leaves the view in $view.
wait_job() {
  local left=$(( ($2 - $(now_ms)) / 1000 + 1 )) s
  curl -sN --max-time "$left" -H "$auth" -o /dev/null "$base/api/v1/jobs/$1/events" || true
  while :; do
    view=$(curl -s -H "$auth" "$base/api/v1/jobs/$1"); s=$(job_status "$view")
    terminal "$s" && return 0
    (( $(now_ms) < $2 )) || { echo "job $1 not finished after ${job_timeout}s: $view" >&2; return 1; }
    sleep 0.1
  done
}

# run_job csv nrows tag [load]: one job end to end; with "load", wrk drives the online route from just
# before the upload until the job is terminal. Appends one line to $tmp/jobs.<tag> (fields below);
# with load, the wrk figures go to $tmp/during.
run_job() {
  local csv=$1 n=$2 tag=$3 load=${4:-} wrk_pid= sampler answer code id t0 t_up t_done t1 c0 c1 p0 p1 before peak
  before=$(rss_kb "$jvm"); : > "$tmp/rss"
  sample_rss "$jvm" "$tmp/rss" & sampler=$!; bg+=("$sampler")
  if [ -n "$load" ]; then
    wrk -t1 -c"$conns" -d"${job_timeout}"s --latency -H "$auth" -s "$lua" "$online" > "$tmp/wrk.out" 2>&1 &
    wrk_pid=$!; bg+=("$wrk_pid")
  fi
  c0=$(cpu_ticks "$jvm"); p0=$(pg_ticks); t0=$(now_ms)
  answer=$(curl -sS -H "$auth" -F "file=@$csv;type=text/csv" --form-string "spec=$spec" \
    -w '\n%{http_code}' "$base/api/v1/jobs")
  t_up=$(now_ms); code=$(tail -1 <<<"$answer")
  [ "$code" = 202 ] || { echo "submit answered $code: $(head -c 600 <<<"$answer")" >&2; exit 1; }
  id=$(sed -nE 's/.*"id" *: *"(job-[^"]+)".*/\1/p' <<<"$answer" | head -1)
  [ -n "$id" ] || { echo "no job id in the answer: $(head -c 600 <<<"$answer")" >&2; exit 1; }
  if [ "$tag" = alone ] && [ "$dumps" -gt 0 ] && [ ! -f "$out/jobs-threads-1.txt" ]; then
    ( for i in $(seq 1 "$dumps"); do sleep 2; jcmd "$jvm" Thread.print > "$out/jobs-threads-$i.txt" 2>&1; done ) &
    bg+=($!)
  fi
  wait_job "$id" $(( t0 + job_timeout * 1000 ))
  t_done=$(now_ms)
  if [ -n "$wrk_pid" ]; then  # wrk prints its figures on SIGINT
    kill -INT "$wrk_pid"; wait "$wrk_pid" || true
    local text; text=$(cat "$tmp/wrk.out")
    echo "$(awk '/Requests\/sec/ {print $2}' <<<"$text") $(to_ms "$(awk '$1=="50%" {print $2}' <<<"$text")")" \
      "$(to_ms "$(awk '$1=="99%" {print $2}' <<<"$text")") $(awk '/Non-2xx/ {print $5}' <<<"$text" | grep . || echo 0)" \
      >> "$tmp/during"
  fi
  [ "$(job_status "$view")" = completed ] || { echo "job $id ended $(job_status "$view"): $view" >&2; exit 1; }
  code=$(curl -sS -H "$auth" -o "$tmp/result.csv" -w '%{http_code}' "$base/api/v1/jobs/$id/result")
  t1=$(now_ms); c1=$(cpu_ticks "$jvm"); p1=$(pg_ticks)
  kill "$sampler"; wait "$sampler" 2>/dev/null || true
  [ "$code" = 200 ] || { echo "result answered $code: $(head -c 600 "$tmp/result.csv")" >&2; exit 1; }
  peak=$(sort -n "$tmp/rss" | tail -1); (( peak > before )) || peak=$before
  # The check: a header, then n rows whose first column (the pass-through id) is 1..n in order.
  local check
  # A JSON Lines answer (should the server not honour output_format) is checked the same way.
  check=$(awk -F, -v n="$n" 'NR == 1 && /^\{/ { jl = 1 } NR == 1 && !jl { next }
      { if (jl) { id = ""; if (match($0, /"id" *: *"?[0-9]+/)) { id = substr($0, RSTART, RLENGTH); sub(/.*[^0-9]/, "", id) } }
        else { id = $1; gsub(/"/, "", id) }
        if (id != NR - 1 + jl) off++; if (seen[id]++) dup++ }
      END { printf "%d %d %d", NR - 1 + jl, off, dup }' "$tmp/result.csv")
  read -r got off dup <<<"$check"
  [ "$got" = "$n" ] && [ "$off" = 0 ] && [ "$dup" = 0 ] \
    || { echo "job $id result: $got rows (want $n), $off out of place, $dup duplicated ids; header: $(head -1 "$tmp/result.csv")" >&2; exit 1; }
  [ -f "$tmp/header" ] || head -1 "$tmp/result.csv" > "$tmp/header"
  # wall s, rows/s, upload s, run s (started_at..finished_at), download s, RSS before MB, peak MB,
  # growth MB, JVM CPU % (of one core), rows done, rows failed, the rest of the wall s (after the
  # upload's answer until the run starts, and from its end until we heard of it), PostgreSQL CPU %
  /usr/bin/python3 - "$view" "$t0" "$t_up" "$t_done" "$t1" "$before" "$peak" "$(( c1 - c0 ))" "$(getconf CLK_TCK)" "$(( p1 - p0 ))" \
      >> "$tmp/jobs.$tag" <<'PY'
import json, sys
from datetime import datetime
v = json.loads(sys.argv[1]); t0, t_up, t_done, t1, before, peak, ticks, hz, pg = map(int, sys.argv[2:])
ts = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
run = ts(v["finished_at"]) - ts(v["started_at"]) if v.get("started_at") and v.get("finished_at") else float("nan")
wall = (t1 - t0) / 1000
print(f"{wall:.3f} {v['rows']['done'] / wall:.0f} {(t_up - t0) / 1000:.3f} {run:.3f} {(t1 - t_done) / 1000:.3f} "
      f"{before / 1024:.0f} {peak / 1024:.0f} {(peak - before) / 1024:.0f} {100 * ticks / hz / wall:.0f} "
      f"{v['rows']['done']} {v['rows']['failed']} {wall - (t_up - t0) / 1000 - run - (t1 - t_done) / 1000:.3f} {100 * pg / hz / wall:.0f}")
PY
  echo "$view" >> "$out/jobs.views"
  curl -s -o /dev/null -X DELETE -H "$auth" "$base/api/v1/jobs/$id" || true  # keeps the data dir small
  bg=(); [ -n "$wrk_pid" ] && sleep 1   # let the server settle before the next window
  return 0
}

: > "$out/jobs.views"; : > "$tmp/during"; : > "$tmp/jobs.alone"; : > "$tmp/jobs.load"; : > "$tmp/jobs.warm"
rm -f "$out"/jobs-threads-*.txt
# --- warm-up: the online route for WARMUP_SECONDS while a WARMUP_ROWS job runs (the JIT of both paths)
wrk -t1 -c"$conns" -d"$warm"s -H "$auth" -s "$lua" "$online" > /dev/null & warm_pid=$!; bg+=("$warm_pid")
run_job "$tmp/warm.csv" "$warm_rows" warm
wait "$warm_pid" || true
: > "$tmp/before"
for r in $(seq 1 "$rounds"); do
  line=$(wrk_run "$online" "$conns" "$seconds" "$lua")
  [[ $line =~ ^[0-9] ]] || { echo "wrk failed (round $r): see $out/serveml-$port.log" >&2; exit 1; }
  echo "$line" >> "$tmp/before"
  sleep 1
  run_job "$tmp/rows.csv" "$rows" alone
  sleep 1
  run_job "$tmp/rows.csv" "$rows" load load
done

{ echo "# jobs: wall_s rows_per_s upload_s run_s result_s rss_before_mb rss_peak_mb rss_grew_mb jvm_cpu_pct" \
    "rows_done rows_failed other_s pg_cpu_pct; wrk: req_per_s p50_ms p99_ms non_2xx"
  for f in jobs.warm jobs.alone jobs.load before during; do sed "s/^/$f /" "$tmp/$f"; done; } > "$out/jobs.rounds"
col() { cut -d' ' -f"$2" "$tmp/$1" | median; }
echo "iris ONNX (examples/iris.onnx): a $rows-row CSV ($csv_mb MB) -> CSV, result header: $(cat "$tmp/header")"
echo "job spec: $spec"
printf '%-34s %8s %9s %8s %7s %8s %7s %8s %8s %8s %6s %5s\n' "batch job, median of $rounds" "wall s" "rows/s" \
  "upload s" "run s" "result s" "other s" "RSS MB" "peak MB" "grew MB" "JVM %" "PG %"
for side in warm alone load; do
  case $side in warm) name="warm-up job, $warm_rows rows (cold)"; f=jobs.warm;; alone) name="job alone"; f=jobs.alone;;
    load) name="job while wrk drives the route"; f=jobs.load;; esac
  printf '%-34s %8.2f %9.0f %8.2f %7.2f %8.2f %7.2f %8.0f %8.0f %8.0f %6.0f %5.0f\n' "$name" "$(col $f 1)" "$(col $f 2)" \
    "$(col $f 3)" "$(col $f 4)" "$(col $f 5)" "$(col $f 12)" "$(col $f 6)" "$(col $f 7)" "$(col $f 8)" "$(col $f 9)" "$(col $f 13)"
done
printf '%-34s %8s %9s %8s %8s\n' "online route, wrk -t1 -c$conns" "req/s" "p50 ms" "p99 ms" "non-2xx"
printf '%-34s %8.0f %9.2f %8.2f %8s\n' "without a job" "$(col before 1)" "$(col before 2)" "$(col before 3)" "$(col before 4)"
printf '%-34s %8.0f %9.2f %8.2f %8s\n' "while a job runs" "$(col during 1)" "$(col during 2)" "$(col during 3)" "$(col during 4)"
paste -d' ' <(cut -d' ' -f3 "$tmp/during") <(cut -d' ' -f3 "$tmp/before") | awk '{printf "%.3f\n", $1/$2}' > "$tmp/p99ratio"
paste -d' ' <(cut -d' ' -f2 "$tmp/jobs.alone") <(cut -d' ' -f1 "$tmp/before") | awk '{printf "%.3f\n", $1/$2}' > "$tmp/rowsratio"
printf 'job rows/s %.0f beside online req/s %.0f (%.1fx, median of rounds %s)\n' "$(col jobs.alone 2)" \
  "$(col before 1)" "$(median < "$tmp/rowsratio")" "$(tr '\n' ' ' < "$tmp/rowsratio")"
wall=$(col jobs.alone 1); worst_wall=$(cut -d' ' -f1 "$tmp/jobs.alone" | sort -g | tail -1)
grew=$(cat "$tmp/jobs.alone" "$tmp/jobs.load" | cut -d' ' -f8 | sort -g | tail -1)
ratio=$(median < "$tmp/p99ratio")
printf '%-44s %10s %10s %5s\n' target value goal met
met() { awk -v v="$1" -v g="$2" 'BEGIN { print (v <= g ? "yes" : "NO") }'; }
printf '%-44s %10.2f %10s %5s\n' "job wall, upload to result, median (s)" "$wall" "<= 20" "$(met "$wall" 20)"
printf '%-44s %10.2f %10s %5s\n' "job wall, slowest lone round (s)" "$worst_wall" "<= 20" "$(met "$worst_wall" 20)"
printf '%-44s %10.0f %10s %5s\n' "JVM RSS growth, worst measured job (MB)" "$grew" "<= 150" "$(met "$grew" 150)"
printf '%-44s %10.2f %10s %5s\n' "online p99 while job / without, median" "$ratio" "<= 2" "$(met "$ratio" 2)"
echo "per round: lone job wall s $(cut -d' ' -f1 "$tmp/jobs.alone" | tr '\n' ' '); p99 ratio $(tr '\n' ' ' < "$tmp/p99ratio"); rows failed per job: $(cat "$tmp/jobs.alone" "$tmp/jobs.load" | cut -d' ' -f11 | tr '\n' ' ')"
echo "machine: $(nproc) cores, load average $load_at_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end, $(java -version 2>&1 | head -1)," \
  "commit $(git -C "$repo_root" rev-parse --short HEAD), rounds=$rounds x ${seconds}s, ${warm}s warm-up, wrk on the same cores"
