// OpenAiClientIT's streaming and chat client: the official OpenAI JavaScript client's
// chat.completions.create and completions.create, with and without stream: true, against ServeML's
// /v1 with a ServeML API key. Reads OPENAI_MODULE, BASE_URL, API_KEY, MODEL (a text-generation
// model), OTHER_MODEL (not one) and PROMPT from the environment and prints one JSON object of what
// each call returned (a stream as the list of its chunks).
'use strict';
const OpenAI = require(process.env.OPENAI_MODULE);
const env = process.env;
const client = new OpenAI({ baseURL: env.BASE_URL, maxRetries: 0, timeout: 60000, apiKey: env.API_KEY });

async function failure(call) {
  try {
    const stream = await call();
    if (stream && typeof stream[Symbol.asyncIterator] === 'function') {
      for await (const chunk of stream) { /* drain: an error may come as an event */ }
    }
    return { status: 0 };
  } catch (e) {
    return { status: e.status === undefined ? -1 : e.status, name: e.constructor.name,
      badRequest: e instanceof OpenAI.BadRequestError, error: e.error === undefined ? null : e.error };
  }
}

async function chunks(stream) {
  const out = [];
  for await (const chunk of stream) {
    out.push(chunk);
  }
  return out;
}

async function main() {
  const out = {};
  const messages = [{ role: 'user', content: env.PROMPT }];
  const chat = { model: env.MODEL, messages, max_completion_tokens: 8, temperature: 0 };
  out.chat = await client.chat.completions.create(chat);
  out.chatStream = await chunks(await client.chat.completions.create({ ...chat, stream: true,
    stream_options: { include_usage: true } }));
  out.chatStreamPlain = await chunks(await client.chat.completions.create({ ...chat, stream: true }));
  const stopped = { ...chat, max_completion_tokens: 12, stop: [env.STOP] };
  out.chatStop = await client.chat.completions.create(stopped);
  out.chatStopStream = await chunks(await client.chat.completions.create({ ...stopped, stream: true }));
  out.chatLogprobs = await client.chat.completions.create({ ...chat, logprobs: true, top_logprobs: 2 });
  out.chatLogprobsStream = await chunks(await client.chat.completions.create({ ...chat, logprobs: true, top_logprobs: 2,
    stream: true }));
  out.chatTwo = await client.chat.completions.create({ ...chat, n: 2, temperature: 0.8, seed: 5 });
  out.chatWithSystem = await client.chat.completions.create({ ...chat, messages: [
    { role: 'system', content: 'Be brief.' }, { role: 'user', content: [{ type: 'text', text: env.PROMPT }] }] });

  const completion = { model: env.MODEL, prompt: env.PROMPT, max_tokens: 8, temperature: 0 };
  out.completion = await client.completions.create(completion);
  out.completionStream = await chunks(await client.completions.create({ ...completion, stream: true,
    stream_options: { include_usage: true } }));
  out.completionStop = await client.completions.create({ ...completion, max_tokens: 12, stop: env.STOP });
  out.completionStopStream = await chunks(await client.completions.create({ ...completion, max_tokens: 12,
    stop: env.STOP, stream: true }));
  out.completionLogprobs = await client.completions.create({ ...completion, logprobs: 2 });
  out.completionLogprobsStream = await chunks(await client.completions.create({ ...completion, logprobs: 2,
    stream: true }));
  out.completionEchoStream = await chunks(await client.completions.create({ ...completion, max_tokens: 3,
    echo: true, stream: true }));

  out.badRole = await failure(() => client.chat.completions.create({ model: env.MODEL,
    messages: [{ role: 'wizard', content: 'x' }] }));
  out.notGeneration = await failure(() => client.chat.completions.create({ model: env.OTHER_MODEL, messages,
    stream: true }));
  out.tooLong = await failure(() => client.chat.completions.create({ model: env.MODEL, stream: true,
    messages: [{ role: 'user', content: 'tokens 123 and '.repeat(40) }] }));
  process.stdout.write(JSON.stringify(out));
}

main().catch(e => {
  process.stderr.write(String(e && e.stack || e) + '\n');
  process.exit(1);
});
