// `npm run migrate`: applies pending migrations to DATABASE_URL (or the embedded database) and exits.
import { loadDatabaseConfig } from '../config.ts';
import { openDatabase } from './database.ts';
import { migrate } from './migrate.ts';

const config = loadDatabaseConfig(process.env);
const database = await openDatabase(config);
try {
  const result = await migrate(database.sql);
  process.stdout.write(`${JSON.stringify({ msg: 'migrations done', applied: result.applied, already_applied: result.skipped.length })}\n`);
} catch (error) {
  process.stderr.write(`migration failed: ${(error as Error).message}\n`);
  process.exitCode = 1;
} finally {
  await database.close();
}
