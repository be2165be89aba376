import { describe, expect, it } from 'vitest';
import { TransientFault } from '../../src/base/faults.js';
import { silentLogger } from '../../src/base/log.js';
import { IN_PROCESS_QUEUE_DEPTH_MAX, InProcessTransport } from '../../src/participant/mq/in-process.js';
import { newMessageId } from '../../src/participant/mq/index.js';

describe('an in-process queue at its bound', () => {
  it('refuses a put with a transient fault, as a broker refuses a put to a full queue', async () => {
    const transport = new InProcessTransport(silentLogger);
    await transport.ensureQueues(['Q']);
    for (let i = 0; i < IN_PROCESS_QUEUE_DEPTH_MAX; i++)
      await transport.put({ queue: 'Q', body: `m${i}`, messageId: newMessageId() });
    await expect(transport.put({ queue: 'Q', body: 'one too many', messageId: newMessageId() })).rejects.toBeInstanceOf(
      TransientFault,
    );
    await transport.close();
  });
});
