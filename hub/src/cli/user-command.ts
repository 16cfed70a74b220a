/**
 * `iot-hub user add <name> --role <role> [--password-stdin] [--data-dir …]`:
 * creates an operator account in the data dir's users.db, typically the
 * first admin. The password is read from stdin (`--password-stdin`, first
 * line) or asked for twice on a terminal without echo; never from argv,
 * where other local users could read it.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { ACCOUNTS_FILE, SqliteAccountStore } from '../auth/sqlite-account-store.js';
import { AccountError, Accounts } from '../auth/accounts.js';
import { isRole, ROLES } from '../auth/roles.js';

export const USER_USAGE = `Usage: iot-hub user add <username> --role ${ROLES.join('|')} [--password-stdin] [--data-dir <dir>]`;

export interface CliIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

async function readFirstLine(input: NodeJS.ReadableStream): Promise<string> {
  const rl = createInterface({ input, terminal: false });
  for await (const line of rl) {
    rl.close();
    return line;
  }
  return '';
}

/** Asks on the terminal; what is typed is not echoed. */
async function ask(io: CliIo, prompt: string): Promise<string> {
  const rl = createInterface({ input: io.stdin, output: io.stderr, terminal: true });
  const muted = rl as unknown as { _writeToOutput: (s: string) => void };
  io.stderr.write(prompt);
  muted._writeToOutput = () => {};
  const answer = await new Promise<string>((r) => rl.question('', r));
  rl.close();
  io.stderr.write('\n');
  return answer;
}

/** Runs the command; resolves with the exit code (0 ok, 2 usage or bad input, 1 otherwise). */
export async function runUserCommand(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { role: { type: 'string' }, 'password-stdin': { type: 'boolean' }, 'data-dir': { type: 'string' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    io.stderr.write(`${(err as Error).message.split('\n')[0]}\n${USER_USAGE}\n`);
    return 2;
  }
  const [action, username, ...extra] = parsed.positionals;
  const role = parsed.values.role;
  if (action !== 'add' || username === undefined || extra.length > 0 || !isRole(role)) {
    io.stderr.write(`${USER_USAGE}\n`);
    return 2;
  }
  let password: string;
  if (parsed.values['password-stdin'] === true) {
    password = await readFirstLine(io.stdin);
  } else if (io.stdin.isTTY === true) {
    password = await ask(io, `Password for ${username}: `);
    if ((await ask(io, 'Again: ')) !== password) {
      io.stderr.write('the passwords differ: nothing changed\n');
      return 2;
    }
  } else {
    io.stderr.write('no terminal to ask for the password on: pipe it in with --password-stdin\n');
    return 2;
  }

  const dataDir = resolve(parsed.values['data-dir'] ?? env.HUB_DATA_DIR ?? './data');
  mkdirSync(dataDir, { recursive: true });
  const store = new SqliteAccountStore(join(dataDir, ACCOUNTS_FILE));
  const accounts = new Accounts({
    store,
    // The admin token plays no part here.
    adminAuth: { verify: () => false, generatedToken: null },
    sessionIdleMs: 1,
    sessionMaxMs: 1,
    log: pino({ level: 'silent' }),
  });
  await store.open();
  try {
    await accounts.addUser(username, role, password);
  } catch (err) {
    if (err instanceof AccountError) {
      io.stderr.write(`${err.message}\n`);
      return 2;
    }
    throw err;
  } finally {
    await accounts.close();
  }
  io.stdout.write(`created ${role} ${username} in ${join(dataDir, ACCOUNTS_FILE)}\n`);
  return 0;
}
