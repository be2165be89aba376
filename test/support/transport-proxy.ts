import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/** A TCP relay to a broker that a test can cut, to lose a connection the way a network does. */
export class CuttableProxy {
  private readonly sockets = new Set<Socket>();
  private blocked = false;

  private constructor(private readonly server: Server) {}

  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<CuttableProxy> {
    const server = createServer();
    const proxy = new CuttableProxy(server);
    server.on('connection', (client) => {
      if (proxy.blocked) return void client.destroy();
      const upstream = connect({ host: targetHost, port: targetPort });
      for (const [a, b] of [
        [client, upstream],
        [upstream, client],
      ] as const) {
        proxy.sockets.add(a);
        a.on('error', () => b.destroy());
        a.on('close', () => {
          proxy.sockets.delete(a);
          b.destroy();
        });
        a.pipe(b);
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return proxy;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Drops every open connection; new ones are still relayed. */
  cut(): void {
    for (const s of this.sockets) s.destroy();
  }

  /** Drops every open connection and refuses new ones for `ms`, the way a server restart does. */
  async outage(ms: number): Promise<void> {
    this.blocked = true;
    this.cut();
    await new Promise((r) => setTimeout(r, ms));
    this.blocked = false;
  }

  /** Drops every connection and refuses new ones. */
  async close(): Promise<void> {
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    this.cut();
    await closed;
  }
}

export type ProxiedUrl = CuttableProxy & { url: string };

/** A cuttable proxy in front of the server `url` names, with `url` as it reads through the proxy. */
export async function inFrontOf(url: string): Promise<ProxiedUrl> {
  const target = new URL(url);
  const defaultPort = target.protocol === 'amqp:' ? 5672 : 5432;
  const proxy = await CuttableProxy.start(Number(target.port || defaultPort), target.hostname);
  const via = new URL(url);
  via.port = String(proxy.port);
  return Object.assign(proxy, { url: via.toString() });
}
