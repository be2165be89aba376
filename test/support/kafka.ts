import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { PROJECT_ROOT } from '../../src/ledger/database.js';

const run = promisify(execFile);

/**
 * The broker the event tests use: KAFKA_BROKERS, which `.ci/run` exports after
 * `scripts/start-kafka.sh`. Never skipped: without it the test fails and says how to start one.
 */
export function requiredKafkaBrokers(): string[] {
  const brokers = (process.env.KAFKA_BROKERS ?? '')
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b.length > 0);
  if (brokers.length === 0)
    throw new Error(
      `KAFKA_BROKERS is not set${process.env.CI ? ' in CI (.ci/run exports it after scripts/start-kafka.sh)' : ''}: ` +
        'run `bash scripts/start-kafka.sh` and `KAFKA_BROKERS=127.0.0.1:9092 npx vitest run test/events`',
    );
  return brokers;
}

/** Where `scripts/start-kafka.sh` keeps the broker (its `KAFKA_HOME`, which it reads as this process does). */
const PID_FILE = path.join(process.env.KAFKA_HOME ?? path.join(PROJECT_ROOT, 'var', 'kafka'), 'broker.pid');

/** SIGKILL of the broker `scripts/start-kafka.sh` started (its pid file); refuses a broker it did not start. */
export async function killBroker(): Promise<void> {
  const pid = Number((await readFile(PID_FILE, 'utf8').catch(() => '')).trim());
  if (!Number.isInteger(pid) || pid <= 0)
    throw new Error(`no broker started by scripts/start-kafka.sh (${PID_FILE}): the outage needs one it can kill`);
  process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`broker ${pid} still alive after SIGKILL`);
}

/** `scripts/start-kafka.sh` (with this process's KAFKA_* settings): returns once the broker answers again. */
export async function startBroker(): Promise<void> {
  await run('bash', [path.join(PROJECT_ROOT, 'scripts', 'start-kafka.sh')], { timeout: 90_000 });
}

export interface Consumed {
  topic: string;
  key: string;
  value: unknown;
  eventId: string | undefined;
}

/**
 * Reads `topics` from their beginning with a consumer group of its own until `done` says it has
 * enough or `timeoutMs` passes; returns every message in the order of each partition.
 */
export async function consumeTopics(
  brokers: string[],
  topics: string[],
  done: (messages: readonly Consumed[]) => boolean,
  timeoutMs: number,
): Promise<Consumed[]> {
  const kafka = new Kafka({ clientId: 'events-test', brokers, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `events-test-${process.pid}-${Date.now()}` });
  const messages: Consumed[] = [];
  await consumer.connect();
  try {
    for (const topic of topics) await consumer.subscribe({ topic, fromBeginning: true });
    let finish: () => void = () => {};
    const finished = new Promise<void>((resolve) => (finish = resolve));
    await consumer.run({
      eachMessage: async ({ topic, message }) => {
        messages.push({
          topic,
          key: message.key?.toString() ?? '',
          value: JSON.parse(message.value?.toString() ?? 'null') as unknown,
          eventId: message.headers?.eventId?.toString(),
        });
        if (done(messages)) finish();
      },
    });
    const timer = setTimeout(finish, timeoutMs);
    await finished;
    clearTimeout(timer);
  } finally {
    await consumer.disconnect();
  }
  return messages;
}
