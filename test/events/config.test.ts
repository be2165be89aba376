/**
 * Where the relay's brokers come from: the config, else KAFKA_BROKERS, else nowhere (the relay is
 * off and the outbox keeps the events).
 */
import { describe, expect, it } from 'vitest';
import { eventsConfigSchema, kafkaBrokers } from '../../src/events/config.js';
import { parseGatewayConfig } from '../../src/daemon/config.js';

const parse = (input: unknown) => eventsConfigSchema.parse(input);

describe('events config', () => {
  it('takes the brokers from the config, else from KAFKA_BROKERS, else turns the relay off', () => {
    expect(kafkaBrokers(parse({ kafka: { brokers: ['k1:9092'] } }), { KAFKA_BROKERS: 'k2:9092' })).toEqual(['k1:9092']);
    expect(kafkaBrokers(parse({}), { KAFKA_BROKERS: ' k2:9092, k3:9093 ,' })).toEqual(['k2:9092', 'k3:9093']);
    expect(kafkaBrokers(parse({}), { KAFKA_BROKERS: '' })).toBeUndefined();
    expect(kafkaBrokers(parse(undefined), {})).toBeUndefined();
  });

  it('defaults every setting, and refuses a broker that is not host:port, a prefix with a space or an outbox without room', () => {
    expect(parse(undefined)).toEqual({
      kafka: { topicPrefix: '', clientId: 'fps-gateway' },
      outbox: { maxUnsentEvents: 5_000_000, maxUnsentAgeHours: 168 },
    });
    expect(() => parse({ outbox: { maxUnsentEvents: 0 } })).toThrow();
    expect(() => parse({ outbox: { maxUnsentAgeHours: 0.5 } })).toThrow();
    expect(() => parse({ kafka: { brokers: ['k1'] } })).toThrow();
    expect(() => parse({ kafka: { brokers: [] } })).toThrow();
    expect(() => parse({ kafka: { topicPrefix: 'a b' } })).toThrow();
  });

  it('is part of the gateway config, absent by default', () => {
    const config = parseGatewayConfig({
      scheme: { dc1: ['127.0.0.1:1'], dc2: ['127.0.0.1:2'], macKey: '00'.repeat(16) },
      participants: [{ id: '200001', name: 'Bank', sortCodes: ['200000'] }],
    });
    expect(config.events.kafka.brokers).toBeUndefined();
  });
});
