// OpenAiClientIT's completions client: the official OpenAI JavaScript client's completions.create
// against ServeML's /v1 with a ServeML API key. Reads OPENAI_MODULE, BASE_URL, API_KEY, MODEL (a
// text-generation model), OTHER_MODEL (not one), PROMPT and LONG_PROMPT (over the model's context)
// from the environment and prints one JSON object of what each call returned.
'use strict';
const OpenAI = require(process.env.OPENAI_MODULE);
const env = process.env;
const client = new OpenAI({ baseURL: env.BASE_URL, maxRetries: 0, timeout: 60000, apiKey: env.API_KEY });

async function failure(call) {
  try {
    await call();
    return { status: 0 };
  } catch (e) {
    return { status: e.status === undefined ? -1 : e.status, name: e.constructor.name,
      badRequest: e instanceof OpenAI.BadRequestError, error: e.error === undefined ? null : e.error };
  }
}

async function main() {
  const out = {};
  out.greedy = await client.completions.create({ model: env.MODEL, prompt: env.PROMPT, max_tokens: 8, temperature: 0 });
  out.two = await client.completions.create({ model: env.MODEL, prompt: [env.PROMPT, env.PROMPT + ' and'],
    max_tokens: 4, temperature: 0 });
  const sample = { model: env.MODEL, prompt: env.PROMPT, max_tokens: 8, temperature: 0.9, top_p: 0.95, seed: 11 };
  out.sampled = [await client.completions.create(sample), await client.completions.create(sample)];
  out.echo = await client.completions.create({ model: env.MODEL, prompt: env.PROMPT, max_tokens: 3, temperature: 0,
    echo: true });
  out.tooLong = await failure(() => client.completions.create({ model: env.MODEL, prompt: env.LONG_PROMPT,
    max_tokens: 4, temperature: 0 }));
  out.notGeneration = await failure(() => client.completions.create({ model: env.OTHER_MODEL, prompt: 'x' }));
  out.badTemperature = await failure(() => client.completions.create({ model: env.MODEL, prompt: 'x', temperature: 7 }));
  process.stdout.write(JSON.stringify(out));
}

main().catch(e => {
  process.stderr.write(String(e && e.stack || e) + '\n');
  process.exit(1);
});
