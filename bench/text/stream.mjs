// Streamed completions against ServeML's POST /v1/completions ("stream": true, usage in the last
// chunk), CONCURRENCY streams at once, each starting another as it ends, until SECONDS have passed;
// prints one JSON line: completion tokens per second over the wall time, time to first token
// (p50/p95 ms), streams and tokens. Loopback only; bounded by SECONDS plus the last streams.
//   node bench/text/stream.mjs URL MODEL CONCURRENCY SECONDS MAX_TOKENS PROMPTS_FILE
import { readFileSync } from "node:fs";

const [url, model, concurrency, seconds, maxTokens, promptsFile] = process.argv.slice(2);
const prompts = readFileSync(promptsFile, "utf8").split("\n").filter((l) => l.length > 0);
const deadline = performance.now() + Number(seconds) * 1000;
const ttft = [];
let tokens = 0, streams = 0, errors = 0, next = 0;

async function one(prompt) {
  const started = performance.now();
  const response = await fetch(url, {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ model, prompt, max_tokens: Number(maxTokens), temperature: 0, stream: true,
      stream_options: { include_usage: true } }),
  });
  if (!response.ok || !response.body) { errors++; await response.text(); return; }
  const decoder = new TextDecoder();
  let buffered = "", first = true, usage = null;
  for await (const bytes of response.body) {
    buffered += decoder.decode(bytes, { stream: true });
    let end;
    while ((end = buffered.indexOf("\n\n")) >= 0) {
      const event = buffered.slice(0, end); buffered = buffered.slice(end + 2);
      if (!event.startsWith("data: ") || event === "data: [DONE]") continue;
      const chunk = JSON.parse(event.slice(6));
      if (first && chunk.choices && chunk.choices.length > 0) { ttft.push(performance.now() - started); first = false; }
      if (chunk.usage) usage = chunk.usage;
    }
  }
  if (usage === null) { errors++; return; }
  tokens += usage.completion_tokens; streams++;
}

async function worker() {
  while (performance.now() < deadline) {
    try { await one(prompts[next++ % prompts.length]); } catch (e) { errors++; }
  }
}

const t0 = performance.now();
await Promise.all(Array.from({ length: Number(concurrency) }, worker));
const wall = (performance.now() - t0) / 1000;
ttft.sort((a, b) => a - b);
const pick = (q) => (ttft.length ? ttft[Math.min(ttft.length - 1, Math.floor(q * ttft.length))] : NaN);
console.log(JSON.stringify({ tokens_per_s: tokens / wall, ttft_p50_ms: pick(0.5), ttft_p95_ms: pick(0.95),
  streams, tokens, errors, wall_s: wall }));
