// OpenAiBatchIT's client: the official OpenAI JavaScript client (npm openai, in build/node) runs a
// batch against ServeML's /v1 with a ServeML API key: files.create (purpose batch), batches.create,
// batches.retrieve until it has finished, files.content of its output file, batches.list.
// Reads OPENAI_MODULE, BASE_URL, API_KEY, LINES (the input file's text) from the environment and
// prints one JSON object of what each call returned, for the IT to assert on.
'use strict';
const mod = require(process.env.OPENAI_MODULE);
const OpenAI = mod.OpenAI || mod.default || mod;
const env = process.env;
const client = new OpenAI({ baseURL: env.BASE_URL, apiKey: env.API_KEY, maxRetries: 0, timeout: 60000 });

async function main() {
  const out = {};
  const file = await client.files.create({
    file: await mod.toFile(Buffer.from(env.LINES, 'utf8'), 'requests.jsonl'),
    purpose: 'batch',
  });
  out.file = file;
  const created = await client.batches.create({
    input_file_id: file.id, endpoint: '/v1/embeddings', completion_window: '24h', metadata: { run: 'client' },
  });
  out.created = created;
  let batch = created;
  const deadline = Date.now() + 120000;
  while (!['completed', 'failed', 'cancelled', 'expired'].includes(batch.status) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    batch = await client.batches.retrieve(created.id);
  }
  out.done = batch;
  const content = await client.files.content(batch.output_file_id);
  out.output = await content.text();
  const listed = [];
  for await (const b of client.batches.list({ limit: 2 })) {
    listed.push(b.id);
  }
  out.listed = listed;
  try {
    await client.batches.retrieve('batch_00000000000000000000000000000000');
    out.missing = { status: 0 };
  } catch (e) {
    out.missing = { status: e.status, notFound: e instanceof mod.NotFoundError, error: e.error };
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((e) => {
  process.stderr.write(String(e && e.stack ? e.stack : e) + '\n');
  process.exit(1);
});
