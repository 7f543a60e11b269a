// Drives Sightline's OpenAI-compatible API with the official openai npm client, against a started app.
// SIGHTLINE_URL (default http://localhost:8080) names the app, SIGHTLINE_API_KEY a team key when its API keys are on;
// run by .ci/run after the Maven build (with keys on and a key made for this client).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import OpenAI from 'openai';

const base = (process.env.SIGHTLINE_URL ?? 'http://localhost:8080') + '/v1';
// the client sends its apiKey as the bearer; with the app's keys off any string will do, and the client insists on one
const client = new OpenAI({ baseURL: base, apiKey: process.env.SIGHTLINE_API_KEY ?? 'unused', timeout: 60_000, maxRetries: 0 });
const image = 'data:image/png;base64,'
  + readFileSync(new URL('../../onnx-models/samples/scene-b.png', import.meta.url)).toString('base64');
const messages = [{
  role: 'user',
  content: [
    { type: 'text', text: 'describe the image .' },
    { type: 'image_url', image_url: { url: image } },
  ],
}];

async function check(name, fn) {
  await fn();
  console.log(`ok - ${name}`);
}

const models = [];
await check('models.list names the loaded model', async () => {
  for await (const m of client.models.list()) models.push(m);
  assert.equal(models.length, 1);
  assert.equal(models[0].object, 'model');
  assert.equal(models[0].owned_by, 'sightline');
});
const model = models[0].id;

let text;
await check('chat.completions.create with an image', async () => {
  const c = await client.chat.completions.create({ model, messages, max_tokens: 20 });
  assert.equal(c.object, 'chat.completion');
  assert.equal(c.choices.length, 1);
  assert.equal(c.choices[0].message.role, 'assistant');
  assert.ok(['stop', 'length'].includes(c.choices[0].finish_reason));
  text = c.choices[0].message.content;
  assert.match(text, /\w/);
  assert.ok(c.usage.prompt_tokens > 0 && c.usage.completion_tokens > 0);
  assert.equal(c.usage.total_tokens, c.usage.prompt_tokens + c.usage.completion_tokens);
  assert.equal(c.id, `chatcmpl-${c.sightline.generation_id}`);
  console.log(`  ${JSON.stringify(text)}`);
});

await check('streaming gives the same text, chunk by chunk, then usage', async () => {
  const stream = await client.chat.completions.create({
    model, messages, max_tokens: 20, stream: true, stream_options: { include_usage: true },
  });
  let streamed = '';
  let chunks = 0;
  let usage;
  let finish;
  for await (const chunk of stream) {
    chunks++;
    for (const choice of chunk.choices) {
      streamed += choice.delta.content ?? '';
      finish = choice.finish_reason ?? finish;
    }
    usage = chunk.usage ?? usage;
  }
  assert.equal(streamed, text);
  assert.ok(chunks > 3, `only ${chunks} chunks`);
  assert.ok(['stop', 'length'].includes(finish));
  assert.ok(usage.completion_tokens > 0);
});

await check('an intervention as an extra body parameter', async () => {
  const c = await client.chat.completions.create({
    model, messages, max_tokens: 20, logprobs: true,
    // @ts-expect-error Sightline's extension: the decoding-time intervention for every choice
    intervention: { name: 'none' },
  });
  assert.equal(c.sightline.intervention, 'none');
  assert.equal(c.choices[0].message.content, text);
  const tokens = c.choices[0].logprobs.content;
  assert.equal(tokens.map((t) => t.token).join(''), text);
  assert.ok(tokens.every((t) => t.logprob <= 0));
  assert.ok(typeof c.sightline.scores.mean_logprob === 'number');
});

await check('logprobs with top_logprobs: each token with its most probable alternatives', async () => {
  const c = await client.chat.completions.create({ model, messages, max_tokens: 20, logprobs: true, top_logprobs: 3 });
  const tokens = c.choices[0].logprobs.content;
  assert.equal(tokens.map((t) => t.token).join(''), c.choices[0].message.content);
  for (const t of tokens) {
    assert.equal(t.top_logprobs.length, 3);
    const lps = t.top_logprobs.map((a) => a.logprob);
    assert.deepEqual(lps, [...lps].sort((a, b) => b - a));
    assert.ok(lps.every((lp) => lp <= 0));
    assert.ok(lps.reduce((s, lp) => s + Math.exp(lp), 0) <= 1 + 1e-6);
    // greedy: the chosen token is the most probable one, with the same logprob
    assert.equal(t.top_logprobs[0].token, t.token);
    assert.equal(t.top_logprobs[0].logprob, t.logprob);
    assert.deepEqual(t.top_logprobs[0].bytes, [...Buffer.from(t.token, 'utf8')]);
  }
});

await check('an http image URL is refused with 422 and a problem type', async () => {
  const refused = [{ role: 'user', content: [
    { type: 'text', text: 'describe the image .' },
    { type: 'image_url', image_url: { url: 'https://example.com/scene.png' } },
  ] }];
  await assert.rejects(client.chat.completions.create({ model, messages: refused }), (e) => {
    assert.ok(e instanceof OpenAI.UnprocessableEntityError, String(e));
    assert.equal(e.status, 422);
    assert.equal(e.error.type, 'https://sightline.dev/problems/image-url-refused');
    assert.match(e.message, /never fetches URLs/);
    return true;
  });
});
