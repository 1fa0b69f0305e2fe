// Does what `npm run demo` tells a newcomer to try, with Node's fetch instead of curl, and fails loudly if
// any step answers otherwise: a chat starts (200 with a streamId), its stream runs to the final frame, the
// workspace quota's tokens_used grows once the generation is settled, and a model the workspace does not
// enable is refused (403 model_not_enabled). Used by scripts/fresh-machine-check.sh on a clean clone. The demo
// user belongs to two workspaces, so every request names the one the demo prints as $WS, as its curls do.
//   npx tsx scripts/demo-check.ts <gateway url> <token> <workspace id>
const [gateway, token, workspace] = process.argv.slice(2);
if (!gateway || !token || !workspace) {
  process.stderr.write('usage: tsx scripts/demo-check.ts <gateway url> <token> <workspace id>\n');
  process.exit(2);
}
const auth = { authorization: `Bearer ${token}`, 'x-workspace-id': workspace };

function startChat(model: string): Promise<Response> {
  return fetch(`${gateway}/api/agents/chat/openAI`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ text: 'Hello', model, endpoint: 'openAI', conversationId: null }),
    signal: AbortSignal.timeout(15_000),
  });
}

async function tokensUsed(): Promise<number> {
  const res = await fetch(`${gateway}/_gateway/quota`, { headers: auth, signal: AbortSignal.timeout(15_000) });
  if (res.status !== 200) throw new Error(`GET /_gateway/quota answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { tokens_used: number }).tokens_used;
}

async function main(): Promise<void> {
  const before = await tokensUsed();

  const started = await startChat('gpt-4o');
  const startBody = await started.text();
  if (started.status !== 200) throw new Error(`1. chat start answered ${started.status}: ${startBody}`);
  const { streamId } = JSON.parse(startBody) as { streamId?: string };
  if (!streamId) throw new Error(`1. chat start gave no streamId: ${startBody}`);
  process.stdout.write(`demo-check: 1. chat started (stream ${streamId})\n`);

  const stream = await fetch(`${gateway}/api/agents/chat/stream/${encodeURIComponent(streamId)}`, { headers: auth, signal: AbortSignal.timeout(60_000) });
  const frames = await stream.text();
  if (stream.status !== 200 || !frames.includes('"final":true')) throw new Error(`2. stream answered ${stream.status} without a final frame: ${frames.slice(-300)}`);
  process.stdout.write('demo-check: 2. stream read to its final frame\n');

  const deadline = Date.now() + 15_000;
  let after = await tokensUsed();
  while (after <= before && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    after = await tokensUsed();
  }
  if (after <= before) throw new Error(`3. tokens_used stayed at ${after} after the generation ended`);
  process.stdout.write(`demo-check: 3. quota tokens_used ${before} -> ${after}\n`);

  const refused = await startChat('gpt-4.1');
  const refusal = await refused.text();
  if (refused.status !== 403 || !refusal.includes('"model_not_enabled"')) throw new Error(`4. gpt-4.1 answered ${refused.status}: ${refusal}`);
  process.stdout.write('demo-check: 4. gpt-4.1 refused with 403 model_not_enabled\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`demo-check: FAILED: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
