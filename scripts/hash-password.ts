// Operator CLI: prints a users.password_hash value (`scrypt:<salt hex>:<key hex>`) for a password, for
// sql/ops/create_tenant.sql and add_member.sql. The password comes from stdin (piped, or typed without
// echo at a terminal) or, less safely (shell history), from the first argument.
//   npm run -s hash-password                       # prompts
//   printf '%s' 'correct horse' | npm run -s hash-password
//   npm run -s hash-password -- 'correct horse'
import { createInterface } from 'node:readline';
import { hashPassword } from '../src/dashboard/password.ts';

async function readPiped(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  // One trailing newline is how `echo` ends a line, not part of the password.
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

function promptHidden(question: string): Promise<string> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    // readline echoes through _writeToOutput; replacing it keeps the typed characters off the screen.
    const hidden = rl as unknown as { _writeToOutput: (text: string) => void };
    process.stderr.write(question);
    hidden._writeToOutput = () => {};
    rl.question('', (answer) => {
      rl.close();
      process.stderr.write('\n');
      resolve(answer);
    });
  });
}

async function main(): Promise<number> {
  const given = process.argv[2];
  const password = given ?? (process.stdin.isTTY ? await promptHidden('Password: ') : await readPiped());
  if (password.length === 0) {
    process.stderr.write('hash-password: the password is empty\n');
    return 2;
  }
  process.stdout.write(`${await hashPassword(password)}\n`);
  return 0;
}

process.exitCode = await main();
