// One bounded GET of JSON from LibreChat with the caller's own bearer, for what the gateway reads of LibreChat
// for itself (its startup config and a saved agent at admission, the models list the endpoints list is
// filtered by): at most `maxBytes` of body are kept, and a request still open after `timeoutMs` (5 s by
// default) is destroyed.
import http from 'node:http';
import https from 'node:https';

export interface LibreChatGetDeps {
  target: URL;
  agent: http.Agent;
  timeoutMs?: number;
}

/**
 * LibreChat's status, with its parsed JSON body when the status is 200 (undefined for any other status).
 * Undefined itself when there is no usable answer: no connection, a timeout, a cut answer, or a 200 whose
 * body is larger than `maxBytes` or not JSON.
 */
export type LibreChatAnswer = { status: number; body: unknown } | undefined;

export type LibreChatGet = (path: string, authorization: string) => Promise<LibreChatAnswer>;

export function createLibreChatGet(deps: LibreChatGetDeps, maxBytes: number): LibreChatGet {
  const client = deps.target.protocol === 'https:' ? https : http;
  return function getFromLibreChat(path, authorization) {
    return new Promise((resolve) => {
      const url = new URL(path, deps.target);
      const request = client.get(url, { agent: deps.agent, headers: { authorization, accept: 'application/json' } }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= maxBytes) chunks.push(chunk);
        });
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status !== 200) return resolve({ status, body: undefined });
          if (size > maxBytes) return resolve(undefined);
          try {
            resolve({ status, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown });
          } catch {
            resolve(undefined);
          }
        });
        res.on('error', () => resolve(undefined));
      });
      request.setTimeout(deps.timeoutMs ?? 5_000, () => request.destroy());
      request.on('error', () => resolve(undefined));
    });
  };
}
