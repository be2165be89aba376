/**
 * The console's server: HTTPS when the config names a certificate and key, with `Secure` session
 * cookies; loopback unless told otherwise.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/base/log.js';
import { httpConfigSchema } from '../../src/ops/config.js';
import { consoleConfigSchema } from '../../src/ops/console/config.js';
import { prepareConsole } from '../../src/ops/console/index.js';
import { hashSecret } from '../../src/ops/console/secrets.js';
import { GatewayMetrics } from '../../src/ops/metrics.js';
import { startOpsServer } from '../../src/ops/server.js';

function get(url: string, ca: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, { ca, servername: 'localhost' }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .on('error', reject)
      .end();
  });
}

describe('ops console server', () => {
  it('binds loopback by default', () => {
    expect(httpConfigSchema.parse(undefined).host).toBe('127.0.0.1');
  });

  it('serves HTTPS when given a certificate and key', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'console-tls-'));
    try {
      const certFile = path.join(dir, 'cert.pem');
      const keyFile = path.join(dir, 'key.pem');
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-subj',
          '/CN=localhost',
          '-addext',
          'subjectAltName=DNS:localhost,IP:127.0.0.1',
          '-days',
          '1',
          '-keyout',
          keyFile,
          '-out',
          certFile,
        ],
        { stdio: 'ignore' },
      );
      const config = consoleConfigSchema.parse({
        operators: [{ name: 'alice', role: 'operator', secretHash: await hashSecret('alice-secret-1') }],
        tls: { certFile, keyFile },
      });
      const prepared = await prepareConsole(config, { siteName: 'site-a', log: silentLogger });
      const server = await startOpsServer(httpConfigSchema.parse({ port: 0 }), {
        metrics: new GatewayMetrics('site-a'),
        log: silentLogger,
        ...prepared.server,
      });
      try {
        expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
        const page = await get(`${server.url}/console`, await readFile(certFile));
        expect(page.status).toBe(200);
        expect(page.body).toContain('ops console');
      } finally {
        await server.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
