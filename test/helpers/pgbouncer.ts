// Starts PgBouncer (Debian's package, found by system-tools.ts; .ci/run installs it) in transaction pooling mode in front of a
// test database, as a real process on a free loopback port.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/db/embedded.ts';
import { pgbouncer, toolPath } from './system-tools.ts';

export interface PgBouncer {
  url: string;
  stop(): Promise<void>;
}

export async function startPgBouncer(databaseUrl: string): Promise<PgBouncer> {
  const binary = toolPath(pgbouncer);
  const target = new URL(databaseUrl);
  const database = target.pathname.slice(1);
  const user = decodeURIComponent(target.username);
  const password = decodeURIComponent(target.password);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'geko-bouncer-'));
  await chmod(dir, 0o777);
  const port = await freePort();
  const ini = [
    '[databases]',
    `${database} = host=${target.hostname} port=${target.port} dbname=${database}`,
    '[pgbouncer]',
    `listen_addr = 127.0.0.1`, `listen_port = ${port}`, `unix_socket_dir =`,
    'auth_type = trust', `auth_file = ${dir}/userlist.txt`,
    'pool_mode = transaction', 'max_client_conn = 500', 'default_pool_size = 10',
    `logfile = ${dir}/pgbouncer.log`, `pidfile = ${dir}/pgbouncer.pid`,
    'ignore_startup_parameters = extra_float_digits',
  ].join('\n');
  await writeFile(path.join(dir, 'pgbouncer.ini'), ini, { mode: 0o644 });
  await writeFile(path.join(dir, 'userlist.txt'), `"${user}" "${password}"\n`, { mode: 0o644 });
  const asRoot = process.getuid?.() === 0;
  const child: ChildProcess = spawn(binary, [...(asRoot ? ['-u', 'postgres'] : []), path.join(dir, 'pgbouncer.ini')], { stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => { socket.destroy(); resolve(true); });
      socket.on('error', () => resolve(false));
    });
    if (open) break;
    if (Date.now() > deadline || child.exitCode !== null) {
      let log = '';
      try { log = execFileSync('cat', [path.join(dir, 'pgbouncer.log')]).toString(); } catch { /* no log */ }
      throw new Error(`pgbouncer did not start: ${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const url = new URL(databaseUrl);
  url.port = String(port);
  return {
    url: url.toString(),
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
