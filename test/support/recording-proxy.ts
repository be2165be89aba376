import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { decode } from '../../src/scheme/codec.js';
import { FrameReader } from '../../src/scheme/framing.js';

/**
 * A TCP proxy in front of one scheme address that records the network management function codes
 * (9804 field 24) the gateway sends on each connection: the simulator forgets a session's sign-on
 * state when it closes, so only the wire shows whether 892 and 882 came before the close.
 */
export interface RecordingProxy {
  address: string;
  /** Per accepted connection, the 9804 function codes the gateway sent, in order. */
  connections: string[][];
  close(): Promise<void>;
}

export async function startRecordingProxy(target: string, macKey: Buffer): Promise<RecordingProxy> {
  const [host, port] = target.split(':') as [string, string];
  const connections: string[][] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const codes: string[] = [];
    connections.push(codes);
    const reader = new FrameReader();
    const upstream = connect({ host, port: Number(port) });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    client.on('data', (chunk) => {
      for (const body of reader.push(chunk)) {
        const m = decode(body, macKey);
        if (m.ok && m.message.mti === '9804') codes.push(m.message.fields.get(24) ?? '');
      }
      upstream.write(chunk);
    });
    upstream.pipe(client);
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
