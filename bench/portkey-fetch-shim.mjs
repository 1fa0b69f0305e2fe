// Preloaded into the Portkey process only (`node --import ./bench/portkey-fetch-shim.mjs ...`).
// @portkey-ai/gateway 1.15.2 on Node fails every streaming request with `TypeError: immutable` (its
// responseService.updateHeaders appends x-portkey-* headers to a Response that, through @hono/node-server
// >= 1.14.3's lightweight Response, still carries fetch's immutable headers: Portkey-AI/gateway#1389,
// #1550). Portkey's own suggested fix clones the response; this does the same one step earlier, giving
// every upstream fetch response a mutable copy of its headers. Cost: one Headers copy per request.
const nativeFetch = globalThis.fetch;
const NativeResponse = globalThis.Response;

globalThis.fetch = async function fetchWithMutableHeaders(input, init) {
  const response = await nativeFetch(input, init);
  return new NativeResponse(response.body, {
    status: response.status,
    statusText: response.statusText,
    headers: new Headers(response.headers),
  });
};
