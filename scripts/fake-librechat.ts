// Runs the fake LibreChat upstream as a process (tests' child process, the demo). Env: PORT (default 0),
// HOST (127.0.0.1), JWT_SECRET (optional). Prints one JSON line {"port","url"} once listening.
import { createFakeLibreChat } from '../test/helpers/fake-librechat/index.ts';

async function main(): Promise<void> {
  const port = Number.parseInt(process.env.PORT ?? '0', 10);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid PORT: ${process.env.PORT}`);
  const jwtSecret = process.env.JWT_SECRET || undefined;
  const fake = await createFakeLibreChat({ port, host: process.env.HOST || '127.0.0.1', jwtSecret });
  process.stdout.write(`${JSON.stringify({ port: fake.port, url: fake.url })}\n`);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    // A safety net only: close() destroys every socket, so the process normally exits at once.
    setTimeout(() => process.exit(0), 2000).unref();
    fake.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`fake-librechat: close failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`fake-librechat: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exit(1);
});
