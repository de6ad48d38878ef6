#!/usr/bin/python3
"""Reads bench/out/rounds.tsv (one line per scenario and round) and the resources and machine
files written by run.sh; prints the table of medians, the ratios against their targets, and
writes results.json and chart.svg (drawn by hand: no extra packages)."""
import json
import statistics
import sys
from pathlib import Path

out = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "out")
FIELDS = ["rps", "p50_ms", "p90_ms", "p99_ms", "errors", "cpu_pct", "rss_mb"]
LABELS = {
    "peer_1w": "FastAPI peer, 1 worker (pickle)",
    "peer_2w": "FastAPI peer, 2 workers (pickle)",
    "native": "ServeML native predict (ONNX, API key)",
    "v2_json": "ServeML V2 infer, JSON (ONNX, API key)",
    "v2_binary": "ServeML V2 infer, binary (ONNX, API key)",
    "bare": "bare Vert.x + ONNX Runtime",
    "python_batched": "ServeML Python runtime, pickle, batching",
    "cache_hit": "ServeML native, cache hits",
    "cache_miss": "ServeML native, cache misses",
    "mlp_off": "mlp_wide.onnx, batching off (64 conns)",
    "mlp_on": "mlp_wide.onnx, batching on (64 conns)",
}
NOT_IRIS = {"mlp_off", "mlp_on"}  # another model: no ratio to the iris peer

rounds = {}
for line in (out / "rounds.tsv").read_text().splitlines():
    parts = line.split("\t")
    rounds.setdefault(parts[0], []).append([float(x) for x in parts[2:]])
scenarios = {}
for name, rows in rounds.items():
    med = {f: statistics.median(r[i] for r in rows) for i, f in enumerate(FIELDS)}
    med["rounds"] = len(rows)
    med["label"] = LABELS.get(name, name)
    scenarios[name] = med


def rps(n):
    return scenarios.get(n, {}).get("rps", float("nan"))


targets = []


def target(what, value, goal, met, unit="x"):
    targets.append({"target": what, "value": round(value, 3), "goal": goal, "unit": unit, "met": bool(met)})


peer = rps("peer_1w")
target("native / peer (1 worker)", rps("native") / peer, ">= 40", rps("native") / peer >= 40)
target("native / peer (2 workers)", rps("native") / rps("peer_2w"), "(reported)", True)
p99, p50peer = scenarios["native"]["p99_ms"], scenarios["peer_1w"]["p50_ms"]
target("native p99 vs peer p50 (ms)", p99, f"< {p50peer:.2f}", p99 < p50peer, "ms")
target("V2 JSON / peer", rps("v2_json") / peer, ">= 35", rps("v2_json") / peer >= 35)
target("V2 binary / peer", rps("v2_binary") / peer, ">= 35", rps("v2_binary") / peer >= 35)
target("native / bare limit", rps("native") / rps("bare"), ">= 0.80", rps("native") / rps("bare") >= 0.8)
target("Python pickle batched / peer", rps("python_batched") / peer, ">= 15", rps("python_batched") / peer >= 15)
if "mlp_on" in scenarios and "mlp_off" in scenarios:
    target("mlp_wide batching on / off (64 conns)", rps("mlp_on") / rps("mlp_off"), ">= 3",
           rps("mlp_on") / rps("mlp_off") >= 3)
    target("mlp_wide p99 on / off", scenarios["mlp_on"]["p99_ms"] / scenarios["mlp_off"]["p99_ms"], "< 1",
           scenarios["mlp_on"]["p99_ms"] < scenarios["mlp_off"]["p99_ms"])
target("cache hits / misses", rps("cache_hit") / rps("cache_miss"), ">= 1.5", rps("cache_hit") / rps("cache_miss") >= 1.5)

resources = json.loads((out / "resources.json").read_text()) if (out / "resources.json").exists() else {}
if resources:
    target("RSS after start-up, JVM (MB)", resources["rss_after_start_jvm_mb"], "<= 400",
           resources["rss_after_start_jvm_mb"] <= 400, "MB")
    target("start-up to ready, existing data dir (ms)", resources["restart_ready_ms"], "<= 5000",
           resources["restart_ready_ms"] <= 5000, "ms")
    target("upload to first prediction, iris ONNX (ms)", resources["upload_to_first_prediction_ms"], "<= 500",
           resources["upload_to_first_prediction_ms"] <= 500, "ms")
    if "rss_50_models_added_mb" in resources:
        target("RSS added by 50 small ONNX models (MB)", resources["rss_50_models_added_mb"], "<= 150",
               resources["rss_50_models_added_mb"] <= 150, "MB")
machine = json.loads((out / "machine.json").read_text()) if (out / "machine.json").exists() else {}

lines = []
lines.append(f"{'scenario':44} {'req/s':>9} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'errors':>7} "
             f"{'CPU %':>6} {'RSS MB':>7} {'x peer':>7}")
for name in LABELS:
    if name not in scenarios:
        continue
    s = scenarios[name]
    lines.append(f"{s['label']:44} {s['rps']:9.0f} {s['p50_ms']:8.2f} {s['p90_ms']:8.2f} {s['p99_ms']:8.2f} "
                 f"{s['errors']:7.0f} {s['cpu_pct']:6.0f} {s['rss_mb']:7.0f} "
                 f"{'' if name in NOT_IRIS else format(s['rps'] / peer, '7.1f'):>7}")
lines.append("")
lines.append(f"{'target':44} {'value':>10} {'goal':>10}  met")
for t in targets:
    lines.append(f"{t['target']:44} {t['value']:10.2f} {t['goal']:>10}  {'yes' if t['met'] else 'NO'}")
if resources:
    lines.append("")
    lines.append(f"resources: RSS after start-up {resources['rss_after_start_jvm_mb']} MB JVM, "
                 f"{resources['rss_after_start_mb']} MB with embedded PostgreSQL; first start "
                 f"{resources['first_start_ms']} ms, restart to ready {resources['restart_ready_ms']} ms, "
                 f"upload to first prediction {resources['upload_to_first_prediction_ms']} ms; 50 small ONNX "
                 f"models ({resources.get('models_loaded', '?')} versions loaded) added "
                 f"{resources.get('rss_50_models_added_mb', '?')} MB of RSS")
if machine:
    lines.append(f"machine: {machine['cores']} cores ({machine['cpu']}), {machine['jdk']}, flags "
                 f"{machine['jvm_flags']}, kernel {machine['kernel']}; {machine['wrk']}; commit {machine['commit']}, "
                 f"{machine['date']}")
lines.append("CPU % is of one core, summed over the server's process tree; RSS likewise (ServeML: the JVM and its "
             "Python workers; the embedded PostgreSQL runs detached and is not counted there).")
table = "\n".join(lines)
print(table)
(out / "table.txt").write_text(table + "\n")
(out / "results.json").write_text(json.dumps({"machine": machine, "scenarios": scenarios, "targets": targets,
                                             "resources": resources}, indent=2) + "\n")

# --- the chart: throughput bars (log scale) and p99 bars per scenario, side by side
names = [n for n in LABELS if n in scenarios]
W, row, left, mid, H0 = 980, 30, 300, 640, 60
H = H0 + row * len(names) + 40
import math
maxr = max(scenarios[n]["rps"] for n in names)
maxp = max(scenarios[n]["p99_ms"] for n in names)
lo = math.log10(max(1.0, min(scenarios[n]["rps"] for n in names) / 2))
svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
       f'<rect width="{W}" height="{H}" fill="white"/>',
       f'<text x="10" y="20" font-size="15" font-weight="bold">ServeML benchmark: medians of {scenarios[names[0]]["rounds"]} rounds'
       f'{" (" + machine.get("date", "") + ", " + machine.get("commit", "") + ")" if machine else ""}</text>',
       f'<text x="{left}" y="45">throughput, req/s (log scale)</text>',
       f'<text x="{mid + 20}" y="45">p99 latency, ms</text>']
for i, n in enumerate(names):
    s = scenarios[n]
    y = H0 + i * row
    svg.append(f'<text x="10" y="{y + 15}">{s["label"]}</text>')
    wr = (math.log10(max(s["rps"], 1)) - lo) / (math.log10(maxr) - lo) * (mid - left - 70)
    colour = "#888" if n.startswith("peer") else ("#d98c1f" if n == "bare" else "#2b6cb0")
    svg.append(f'<rect x="{left}" y="{y + 3}" width="{max(wr, 1):.1f}" height="18" fill="{colour}"/>')
    svg.append(f'<text x="{left + wr + 4:.1f}" y="{y + 16}">{s["rps"]:.0f}</text>')
    wp = s["p99_ms"] / maxp * (W - mid - 90)
    svg.append(f'<rect x="{mid + 20}" y="{y + 3}" width="{max(wp, 1):.1f}" height="18" fill="#c53030"/>')
    svg.append(f'<text x="{mid + 24 + wp:.1f}" y="{y + 16}">{s["p99_ms"]:.1f}</text>')
svg.append(f'<text x="10" y="{H - 12}" fill="#555">grey: FastAPI peer; blue: ServeML; orange: bare Vert.x + ONNX '
           f'Runtime limit. Loopback, wrk on the same cores.</text>')
svg.append("</svg>")
(out / "chart.svg").write_text("\n".join(svg) + "\n")
print(f"\nwrote {out / 'results.json'} and {out / 'chart.svg'}")
