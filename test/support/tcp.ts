import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/** A connected pair of real loopback sockets. */
export async function socketPair(): Promise<{ client: Socket; server: Socket; close(): void }> {
  const srv: Server = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  const accepted = new Promise<Socket>((r) => srv.once('connection', r));
  const client = connect({ host: '127.0.0.1', port });
  await new Promise<void>((r) => client.once('connect', () => r()));
  const server = await accepted;
  srv.close();
  return { client, server, close: () => (client.destroy(), server.destroy()) };
}

export async function until(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
