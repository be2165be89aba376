/** How many messages wait on some queues of the broker: a gateway that has caught up leaves them empty. */
import { connect } from 'amqplib';
import { AMQP_URL } from '../test/support/stack.js';

/** Messages waiting on some queues of the broker, read on a channel of its own. */
export interface QueueDepth {
  total(): Promise<number>;
  close(): Promise<void>;
}

export async function queueDepth(names: readonly string[]): Promise<QueueDepth> {
  const model = await connect(AMQP_URL);
  const channel = await model.createChannel();
  return {
    async total() {
      let n = 0;
      for (const q of names) n += (await channel.checkQueue(q)).messageCount;
      return n;
    },
    close: () => model.close(),
  };
}
