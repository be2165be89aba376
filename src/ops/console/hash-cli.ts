/**
 * `npm run console:hash`: reads an operator's secret on stdin (one line, or all of it) and prints
 * its `secretHash` for the config. `npm run console:hash -- --token` prints a new bearer token
 * and its `tokenHash` instead (the token is shown once: give it to the script that needs it).
 */
import { parseArgs } from 'node:util';
import { hashSecret, newToken } from './secrets.js';

/** Secrets shorter than this are refused: the console is an operator's control of the payment link. */
const SECRET_LENGTH_MIN = 12;

const { values } = parseArgs({ options: { token: { type: 'boolean', default: false } } });
if (values.token) {
  process.stdout.write(`${JSON.stringify(newToken())}\n`);
} else {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const secret = Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
  if (secret.length < SECRET_LENGTH_MIN) {
    process.stderr.write(`console:hash: the secret must be at least ${SECRET_LENGTH_MIN} characters\n`);
    process.exit(2);
  }
  process.stdout.write(`${await hashSecret(secret)}\n`);
}
