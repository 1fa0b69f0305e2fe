// LibreChat's chat-related routing, rebuilt on Express 5 as LibreChat mounts it, so a test can ask Express
// itself which handler a request line reaches. Every handler only records its name and answers; what
// matters is which one Express picks. Mirrored from LibreChat (v0.8.8, the reference's primary source):
// - api/server/index.js: `/health`, then express.json({limit:'3mb'}) and express.urlencoded({extended:
//   true, limit:'3mb'}), then the `/api/*` routers in order (`/api/assistants` before `/api/agents`), then
//   the SPA fallback, which answers every method and path no router took.
// - api/server/routes/agents/index.js: `/v1/responses` (responses.js), `/v1` (openai.js), then (after
//   requireJwtAuth) GET chat/stream/:streamId, GET chat/active, GET chat/status/:conversationId, POST
//   chat/abort, POST chat/steer[/deliver|/cancel|/arm], then `/` (v1.js, the agent CRUD), then `/chat`
//   (chat.js: POST /resume, POST /, POST /:endpoint).
// - api/server/routes/assistants/index.js: `/v1/` (v1.js), `/v1/chat` (chatV1.js), `/v2/` (v2.js),
//   `/v2/chat` (chatV2.js); each chat router: POST /abort, POST /.
// Middleware that only authenticates or limits is left out: it never changes which handler runs.
import express, { type NextFunction, type Request, type Response, type Router } from 'express';

/** Handlers that start a model call (the gateway must have admitted the request). */
export const CHAT_HANDLERS = new Set([
  'agents.chat.start', 'agents.openai.completions', 'agents.responses.create', 'assistants.v1.chat', 'assistants.v2.chat',
]);
/** Handlers that act on a running generation (the gateway must have verified the token). */
export const TOKEN_HANDLERS = new Set(['agents.chat.stream', 'agents.chat.abort', 'assistants.v1.abort', 'assistants.v2.abort']);

export interface OracleRecord {
  handler: string;
  method: string;
  /** The request target as the server received it (before Express trimmed mount paths). */
  target: string;
  params: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
}

type Recorder = (record: OracleRecord) => void;

function handler(name: string, record: Recorder) {
  return function recordHandler(req: Request, res: Response): void {
    record({ handler: name, method: req.method, target: req.originalUrl, params: { ...req.params } as Record<string, string>, headers: { ...req.headers } });
    // A chat handler answers an error, so the gateway gives the hold back at once and subscribes to nothing.
    res.status(CHAT_HANDLERS.has(name) ? 409 : 200).json({ oracle: name });
  };
}

function agentsRouter(record: Recorder): Router {
  const h = (name: string) => handler(name, record);
  const responses = express.Router();
  responses.post('/', h('agents.responses.create'));
  responses.get('/models', h('agents.responses.models'));
  responses.get('/:id', h('agents.responses.get'));
  const openai = express.Router();
  openai.post('/chat/completions', h('agents.openai.completions'));
  openai.get('/models', h('agents.openai.models'));
  openai.get('/models/:model', h('agents.openai.model'));
  const v1 = express.Router();
  v1.use('/actions', h('agents.actions'));
  v1.use('/tools', h('agents.tools'));
  v1.get('/categories', h('agents.categories'));
  v1.post('/', h('agents.create'));
  v1.get('/:id', h('agents.get'));
  v1.get('/:id/expanded', h('agents.get_expanded'));
  v1.patch('/:id', h('agents.update'));
  v1.post('/:id/duplicate', h('agents.duplicate'));
  v1.delete('/:id', h('agents.delete'));
  v1.post('/:id/revert', h('agents.revert'));
  v1.get('/', h('agents.list'));
  const chat = express.Router();
  chat.post('/resume', h('agents.chat.resume'));
  chat.post('/', h('agents.chat.start'));
  chat.post('/:endpoint', h('agents.chat.start'));
  const chatRouter = express.Router();
  chatRouter.use('/', chat);

  const router = express.Router();
  router.use('/v1/responses', responses);
  router.use('/v1', openai);
  router.get('/chat/stream/:streamId', h('agents.chat.stream'));
  router.get('/chat/active', h('agents.chat.active'));
  router.get('/chat/status/:conversationId', h('agents.chat.status'));
  router.post('/chat/abort', h('agents.chat.abort'));
  router.post('/chat/steer', h('agents.chat.steer'));
  router.post('/chat/steer/deliver', h('agents.chat.steer'));
  router.post('/chat/steer/cancel', h('agents.chat.steer'));
  router.post('/chat/steer/arm', h('agents.chat.steer'));
  router.use('/', v1);
  router.use('/chat', chatRouter);
  return router;
}

function assistantsRouter(record: Recorder): Router {
  const h = (name: string) => handler(name, record);
  const crud = (version: string) => {
    const r = express.Router();
    r.use('/actions', h(`assistants.${version}.actions`));
    r.use('/tools', h(`assistants.${version}.tools`));
    r.use('/documents', h(`assistants.${version}.documents`));
    r.post('/', h(`assistants.${version}.create`));
    r.get('/:id', h(`assistants.${version}.get`));
    r.patch('/:id', h(`assistants.${version}.update`));
    r.delete('/:id', h(`assistants.${version}.delete`));
    r.get('/', h(`assistants.${version}.list`));
    r.post('/avatar/:assistant_id', h(`assistants.${version}.avatar`));
    return r;
  };
  const chat = (version: string) => {
    const r = express.Router();
    r.post('/abort', h(`assistants.${version}.abort`));
    r.post('/', h(`assistants.${version}.chat`));
    return r;
  };
  const router = express.Router();
  router.use('/v1/', crud('v1'));
  router.use('/v1/chat', chat('v1'));
  router.use('/v2/', crud('v2'));
  router.use('/v2/chat', chat('v2'));
  return router;
}

/** The Express app: LibreChat's order of body parsers, mounts and fallback. */
export function buildOracleApp(record: Recorder): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 1);
  app.get('/health', handler('health', record));
  app.use(express.json({ limit: '3mb' }));
  app.use(express.urlencoded({ extended: true, limit: '3mb' }));
  app.use('/api/assistants', assistantsRouter(record));
  app.use('/api/agents', agentsRouter(record));
  app.use(handler('fallback', record));
  // Body-parser and param-decoding errors (a malformed %-escape in a :param is Express's 400).
  app.use(function oracleError(error: { status?: number }, req: Request, res: Response, _next: NextFunction) {
    record({ handler: 'error', method: req.method, target: req.originalUrl, params: {}, headers: { ...req.headers } });
    res.status(error.status ?? 500).json({ oracle: 'error' });
  });
  return app;
}
