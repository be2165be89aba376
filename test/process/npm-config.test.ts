import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/ledger/database.js';

const run = promisify(execFile);

describe('npm in this project', () => {
  it('runs a command without a warning about the project config', async () => {
    // As a person's shell runs it: without the npm_config_* variables an enclosing npm run sets.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')));
    const { stdout, stderr } = await run('npm', ['pkg', 'get', 'name'], { cwd: PROJECT_ROOT, env });
    expect(stdout.trim()).toBe('"fps-gateway"');
    expect(stderr).not.toMatch(/npm warn/i);
  });

  it('installs without running the ibmmq install scripts, which would download IBM MQ client', async () => {
    const { stdout } = await run('npm', ['pkg', 'get', 'allowScripts'], { cwd: PROJECT_ROOT });
    expect((JSON.parse(stdout) as Record<string, boolean>).ibmmq).toBe(false);
  });
});
