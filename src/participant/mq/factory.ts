import { parseSettings } from '../../base/config.js';
import type { Logger } from '../../base/log.js';
import { AmqpTransport } from './amqp.js';
import { mqConfigSchema } from './config.js';
import { InProcessTransport } from './in-process.js';
import type { MqTransport } from './port.js';

/** Validates `config` and connects the transport it names. */
export async function createTransport(config: unknown, log: Logger): Promise<MqTransport> {
  const c = parseSettings(mqConfigSchema, config, 'MQ configuration');
  switch (c.kind) {
    case 'in-process':
      return new InProcessTransport(log);
    case 'amqp':
      return AmqpTransport.connect({ url: c.url }, log);
    case 'ibmmq': {
      // Loaded only when chosen: the ibmmq addon fails to load where no MQ client library is installed.
      const { IbmMqTransport } = await import('./ibmmq.js');
      return IbmMqTransport.connect(c, log);
    }
  }
}
