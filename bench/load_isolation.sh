#!/usr/bin/env bash
# Issue 13's stall check: the iris forest (ONNX), loaded, under wrk before and while a Python
# handler whose load() sleeps LOAD_SECONDS (default 20) loads cold for WAITERS (default 12)
# callers; prints both req/s and the ratio (target >= 70%). The Python model is uploaded (its
# validation load sleeps too), then unloaded through /v2/repository so the callers' load is cold.
# Loopback only; about LOAD_SECONDS + ROUNDS * (LOAD_SECONDS + SECONDS_PER_ROUND + 3) + 20 seconds
# (2 minutes with the defaults).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need wrk wrk
rounds=${ROUNDS:-3}; seconds=${SECONDS_PER_ROUND:-8}; conns=${CONNECTIONS:-16}; load_s=${LOAD_SECONDS:-20}; waiters=${WAITERS:-12}
if (( seconds + 2 > load_s )); then echo "SECONDS_PER_ROUND must be at least 2 s below LOAD_SECONDS" >&2; exit 1; fi
fixtures
port=18091; base=http://127.0.0.1:$port
start_serveml $port SERVEML_CACHE=off SERVEML_AUTH=off SERVEML_REQUEST_TIMEOUT=$(( load_s * 3 ))s
/usr/bin/python3 - "$out/slow_load.zip" "$load_s" <<'PY'
import sys, zipfile
handler = '''import os, time
import numpy as np
SIGNATURE = {"inputs": [{"name": "x", "datatype": "FP64", "shape": [-1, 1], "kind": "tensor"}],
             "outputs": [{"name": "y", "datatype": "FP64", "shape": [-1, 1], "kind": "tensor"}]}
def load(model_dir):
    with open(os.path.join(model_dir, "slow_load")) as f:
        time.sleep(float(f.read()))
def predict(inputs):
    return {"y": np.asarray(inputs["x"], dtype=np.float64) + 1}
'''
with zipfile.ZipFile(sys.argv[1], "w") as z:
    z.writestr("handler.py", handler)
    z.writestr("slow_load", sys.argv[2])
PY
curl -sf -F file=@"$out/iris_rf.onnx" "$base/api/v1/models/iris/versions" >/dev/null
curl -sf -F file=@"$out/slow_load.zip" "$base/api/v1/models/slow/versions" >/dev/null
iris=$base/api/v1/models/iris/predict
wrk_run "$iris" "$conns" "$seconds" >/dev/null # warm-up: the JIT, so that round 1 is not the slowest "before"
# Each round: unload the Python model, measure iris, fire the callers at the cold model, measure
# iris again while it loads. Rounds pair "before" with "during" so the machine's noise hits both.
: > "$out/load_isolation.before"; : > "$out/load_isolation.during"; : > "$out/load_isolation.codes"
early=0
for r in $(seq 1 "$rounds"); do
  curl -sf -X POST -H 'Content-Type: application/json' -d '{}' "$base/v2/repository/models/slow/unload" >/dev/null
  line=$(wrk_run "$iris" "$conns" "$seconds")
  [[ $line =~ ^[0-9] ]] || { echo "wrk failed (round $r, before): see $out/serveml-$port.log" >&2; exit 1; }
  echo "$line" >> "$out/load_isolation.before"
  : > "$out/load_isolation.round"
  callers=()
  for _ in $(seq 1 "$waiters"); do
    curl -s -o /dev/null -w '%{http_code}\n' -H 'Content-Type: application/json' -d '{"inputs": {"x": [[1.0]]}}' \
      "$base/api/v1/models/slow/predict" >> "$out/load_isolation.round" &
    callers+=($!)
  done
  sleep 1 # the callers are in and the load has started; the window below closes before it ends
  line=$(wrk_run "$iris" "$conns" "$seconds")
  [[ $line =~ ^[0-9] ]] || { echo "wrk failed (round $r, during): see $out/serveml-$port.log" >&2; exit 1; }
  echo "$line" >> "$out/load_isolation.during"
  early=$(( early + $(wc -l < "$out/load_isolation.round") ))
  for p in "${callers[@]}"; do wait "$p"; done
  cat "$out/load_isolation.round" >> "$out/load_isolation.codes"
done
printf '%-48s %10s %9s %9s %8s\n' "iris ONNX, wrk -t1 -c$conns -d${seconds}s, median" "req/s" "p50 ms" "p99 ms" "non-2xx"
for side in before during; do
  name=$([ $side = before ] && echo "before" || echo "while slow loads (${load_s}s) for $waiters callers")
  printf '%-48s %10.0f %9.2f %9.2f %8s\n' "$name" "$(cut -d' ' -f1 "$out/load_isolation.$side" | median)" \
    "$(cut -d' ' -f2 "$out/load_isolation.$side" | median)" "$(cut -d' ' -f3 "$out/load_isolation.$side" | median)" \
    "$(cut -d' ' -f4 "$out/load_isolation.$side" | median)"
done
paste -d' ' <(cut -d' ' -f1 "$out/load_isolation.during") <(cut -d' ' -f1 "$out/load_isolation.before") \
  | awk '{printf "%.3f\n", $1/$2}' > "$out/load_isolation.ratios"
awk -v m="$(median < "$out/load_isolation.ratios")" -v all="$(tr '\n' ' ' < "$out/load_isolation.ratios")" \
  'BEGIN { printf "throughput kept during the load: %.1f%% median of rounds (%s) (target >= 70%%)\n", 100*m, all }'
echo "slow model's callers: $(sort "$out/load_isolation.codes" | uniq -c | awk '{printf "%s x %s  ", $1, $2}')" \
  "($early answered before a window closed: 0 means every load outlasted its window)"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(java -version 2>&1 | head -1)," \
  "rounds=$rounds x ${seconds}s"
