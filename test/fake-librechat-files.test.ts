// The fake LibreChat's file routes, in LibreChat's shapes (api/server/routes/files/files.js,
// api/server/services/Files/process.js): a multipart upload answered with the File record and the file part's
// `bytes` (split across chunks anywhere), the caller's list, deletes (403 naming another user's files, 204
// with no valid entry, 200 {message}), and `ephemeralAgent` in a chat body recorded as sent.
import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeControl, createFakeLibreChat, type FakeLibreChat } from './helpers/fake-librechat/index.ts';
import { deleteFiles, multipartBody } from './helpers/files.ts';
import { send } from './helpers/raw-http.ts';

const SECRET = 'fake-librechat-files-secret';
let fake: FakeLibreChat;
beforeAll(async () => { fake = await createFakeLibreChat({ jwtSecret: SECRET }); });
afterAll(async () => { await fake?.close(); });

const tokenFor = (id: string) => new SignJWT({ id, email: `${id}@example.com` }).setProtectedHeader({ alg: 'HS256' })
  .setIssuedAt().setExpirationTime('15m').sign(new TextEncoder().encode(SECRET));

/** Sends the body in random pieces, so boundaries and headers fall across chunks. */
function* pieces(body: Buffer): Generator<Buffer> {
  for (let at = 0; at < body.length;) {
    const size = 1 + (randomBytes(2).readUInt16BE() % 700);
    yield body.subarray(at, at + size);
    at += size;
  }
}

describe('fake LibreChat files', () => {
  it('answers an upload with LibreChat\'s File record and the file part\'s bytes, however the body is split', async () => {
    const token = await tokenFor('aaaaaaaaaaaaaaaaaaaaaaaa');
    for (const fileBytes of [0, 1, 5_000, 300_000]) {
      const { body, boundary } = multipartBody({ fileBytes, filename: 'a.txt' });
      const reply = await send(fake.url, '/api/files', {
        method: 'POST', body: pieces(body),
        headers: { authorization: `Bearer ${token}`, 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(body.length) },
      });
      expect(reply.status).toBe(200);
      const json = JSON.parse(reply.text) as Record<string, unknown>;
      expect(json).toMatchObject({ message: 'File uploaded and processed successfully', bytes: fileBytes, filename: 'a.txt', user: 'aaaaaaaaaaaaaaaaaaaaaaaa', source: 'local', body_bytes: body.length });
      expect(json.file_id).toMatch(/^[0-9a-f-]{36}$/);
      expect(json.temp_file_id).toMatch(/^[0-9a-f-]{36}$/);
    }
    const listed = JSON.parse((await send(fake.url, '/api/files', { headers: { authorization: `Bearer ${token}` } })).text) as unknown[];
    expect(listed).toHaveLength(4);
  });

  it('deletes only the caller\'s files: 403 naming another\'s, 204 with no valid entry, 200 otherwise', async () => {
    const [alice, bob] = await Promise.all([tokenFor('bbbbbbbbbbbbbbbbbbbbbbbb'), tokenFor('cccccccccccccccccccccccc')]);
    const { body, boundary } = multipartBody({ fileBytes: 10 });
    const up = await send(fake.url, '/api/files/images', {
      method: 'POST', body, headers: { authorization: `Bearer ${alice}`, 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(body.length) },
    });
    const fileId = (JSON.parse(up.text) as { file_id: string; type: string }).file_id;
    const refused = await deleteFiles(fake.url, bob, [fileId]);
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.text)).toEqual({ message: 'You can only delete files you have access to', unauthorizedFiles: [fileId] });
    const invalid = '{"files":[{"file_id":"x"}]}';
    const nothing = await send(fake.url, '/api/files', {
      method: 'DELETE', headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json', 'content-length': String(invalid.length) }, body: invalid,
    });
    expect(nothing.status).toBe(204);
    const deleted = await deleteFiles(fake.url, alice, [fileId]);
    expect(deleted.status).toBe(200);
    expect(JSON.parse(deleted.text)).toEqual({ message: 'Files deleted successfully' });
    expect(JSON.parse((await send(fake.url, '/api/files', { headers: { authorization: `Bearer ${alice}` } })).text)).toEqual([]);
  });

  it('records a chat body\'s ephemeralAgent as sent', async () => {
    const token = await tokenFor('dddddddddddddddddddddddd');
    const ephemeralAgent = { mcp: ['github'], web_search: true, execute_code: false };
    const res = await fetch(`${fake.url}/api/agents/chat/openAI`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-request-id': 'ephemeral-1' },
      body: JSON.stringify({ text: 'Hi', model: 'gpt-4o', conversationId: null, ephemeralAgent }),
    });
    expect(res.status).toBe(200);
    const entry = await createFakeControl(fake.url).waitFor((e) => e.headers['x-request-id'] === 'ephemeral-1');
    expect(entry.body).toMatchObject({ ephemeralAgent });
  });
});
