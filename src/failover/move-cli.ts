import { runMove } from './move.js';

// `npm run failover:move -- --by NAME [--database-url URL] [--wait-ms MS]`: see runMove.
process.exitCode = await runMove(process.argv.slice(2), {
  env: process.env,
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
});
