// The Hono environment of the gateway's own /_gateway routes: Node's request and response as bindings
// (@hono/node-server), so a route can write an answer straight to the socket. Its own module so the
// routes (ops/, dashboard/) and the composition root (app.ts) all import it and none imports app.ts.
import type { HttpBindings } from '@hono/node-server';

export type AppEnv = { Bindings: HttpBindings };
