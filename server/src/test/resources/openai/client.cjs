// OpenAiClientIT's client: the official OpenAI JavaScript client (npm openai, installed by
// scripts/install-test-deps into build/node) called against ServeML's /v1 with a ServeML API key.
// Reads OPENAI_MODULE, BASE_URL, API_KEY, MODEL, OTHER_MODEL, TEXTS (a JSON list) from the
// environment and prints one JSON object of what each call returned, for the IT to assert on.
'use strict';
const OpenAI = require(process.env.OPENAI_MODULE);
const env = process.env;
const texts = JSON.parse(env.TEXTS);
const options = { baseURL: env.BASE_URL, maxRetries: 0, timeout: 60000 };
const client = new OpenAI({ ...options, apiKey: env.API_KEY });

async function failure(call) {
  try {
    await call();
    return { status: 0 };
  } catch (e) {
    return {
      status: e.status === undefined ? -1 : e.status,
      name: e.constructor.name,
      notFound: e instanceof OpenAI.NotFoundError,
      authentication: e instanceof OpenAI.AuthenticationError,
      badRequest: e instanceof OpenAI.BadRequestError,
      error: e.error === undefined ? null : e.error,
      message: String(e.message),
    };
  }
}

function floats(base64) {
  const bytes = Buffer.from(base64, 'base64');
  const out = [];
  for (let i = 0; i < bytes.length; i += 4) {
    out.push(bytes.readFloatLE(i));
  }
  return out;
}

async function main() {
  const out = {};
  const ids = [];
  for await (const m of client.models.list()) {
    ids.push(m.id);
  }
  out.list = ids;
  out.retrieved = await client.models.retrieve(env.MODEL);
  const plain = await client.embeddings.create({ model: env.MODEL, input: texts, encoding_format: 'float' });
  out.float = { model: plain.model, object: plain.object, usage: plain.usage,
    data: plain.data.map(d => ({ object: d.object, index: d.index, embedding: d.embedding })) };
  const b64 = await client.embeddings.create({ model: env.MODEL, input: texts, encoding_format: 'base64' });
  out.base64 = b64.data.map(d => ({ type: typeof d.embedding, embedding: floats(d.embedding) }));
  // Without encoding_format the client itself asks for base64 and decodes it.
  const decoded = await client.embeddings.create({ model: env.MODEL, input: texts[0] });
  out.defaulted = decoded.data.map(d => d.embedding);
  const short = await client.embeddings.create({ model: env.MODEL, input: texts[0], dimensions: 8,
    encoding_format: 'float' });
  out.dimensions = short.data[0].embedding;
  out.unknownModel = await failure(() => client.embeddings.create({ model: 'oa-no-such-model', input: 'x' }));
  out.retrieveUnknown = await failure(() => client.models.retrieve('oa-no-such-model'));
  out.notEmbedding = await failure(() => client.embeddings.create({ model: env.OTHER_MODEL, input: 'x' }));
  out.tooManyDimensions = await failure(() => client.embeddings.create({ model: env.MODEL, input: 'x',
    dimensions: 100000 }));
  const wrongKey = new OpenAI({ ...options, apiKey: 'sml_forged_0123456789abcdef0123456789abcdef' });
  out.wrongKey = await failure(() => wrongKey.models.list());
  // No key at all: the Authorization header removed (the client insists on an apiKey option).
  const noKey = new OpenAI({ ...options, apiKey: 'unused', defaultHeaders: { Authorization: null } });
  out.noKey = await failure(() => noKey.embeddings.create({ model: env.MODEL, input: 'x' }));
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch(e => {
  process.stderr.write('client failed: ' + (e && e.stack ? e.stack : e) + '\n');
  process.exit(1);
});
