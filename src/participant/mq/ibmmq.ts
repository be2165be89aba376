import * as mq from 'ibmmq';
import { MQC } from 'ibmmq';
import { TransientFault } from '../../base/faults.js';
import type { Logger } from '../../base/log.js';
import {
  checkOutgoing,
  logFields,
  type ConsumeOptions,
  type Consumer,
  type Handler,
  type IncomingMessage,
  type MqTransport,
  type OutgoingMessage,
  registered,
} from './port.js';
import { settle } from './settle.js';
import { GOT_PROPERTIES, gotProperties, putProperties, type PropertyValue } from './ibmmq-properties.js';

export interface IbmMqOptions {
  queueManager: string;
  /** SVRCONN channel name. */
  channel: string;
  /** host(port), comma-separated for a multi-instance queue manager. */
  connName: string;
  user?: string;
  password?: string;
}

/** UTF-8, as participant-mq.md §2 requires of every body. */
const CCSID_UTF8: number = 1208;
const NO_CORREL_ID = Buffer.alloc(24);

/**
 * IBM MQ client transport. Puts go out on one connection, outside syncpoint (MQPUT of a persistent
 * message returns once it is hardened). Each consumer has a connection of its own because a unit
 * of work belongs to a connection: it opens its queue for exclusive input (only the open site
 * reads, participant-mq.md §1) and gets under syncpoint, one message at a time, ending each unit
 * of work with MQCMIT or MQBACK. Connections use MQCNO_RECONNECT: the MQ client reconnects by
 * itself and backs out the units of work in flight, whose messages are then delivered again.
 */
export class IbmMqTransport implements MqTransport {
  readonly name = 'ibmmq';
  readonly durable = true;
  /** Output handles by queue name, opened on first put. */
  private readonly outputs = new Map<string, Promise<mq.MQObject>>();
  private readonly consumers = new Set<IbmMqConsumer>();
  private closed = false;

  private constructor(
    private readonly options: IbmMqOptions,
    private readonly hConn: mq.MQQueueManager,
    private readonly log: Logger,
  ) {}

  static async connect(options: IbmMqOptions, log: Logger): Promise<IbmMqTransport> {
    // Consumers resume delivery themselves once a message is settled (see IbmMqConsumer.listen);
    // autoCtl would resume it as soon as the callback returns, before the async handler is done.
    mq.setTuningParameters({ autoCtl: false });
    const hConn = await connectQueueManager(options);
    log.info(
      { transport: 'ibmmq', queueManager: options.queueManager, connName: options.connName },
      'connected to the IBM MQ queue manager',
    );
    return new IbmMqTransport(options, hConn, log);
  }

  /** Queues on IBM MQ are defined by its administrator; this only proves they are there. */
  async ensureQueues(queues: readonly string[]): Promise<void> {
    this.assertOpen('ensureQueues');
    for (const q of queues) {
      const hObj = await this.open(this.hConn, q, MQC.MQOO_INQUIRE);
      await mq.ClosePromise(hObj, 0);
    }
  }

  async put(m: OutgoingMessage): Promise<void> {
    this.assertOpen(`put to ${m.queue}`);
    checkOutgoing(m);
    const md = new mq.MQMD();
    md.MsgId = Buffer.from(m.messageId, 'hex');
    if (m.correlationId !== undefined) md.CorrelId = Buffer.from(m.correlationId, 'hex');
    // [P4] Every message the gateway puts is persistent.
    md.Persistence = MQC.MQPER_PERSISTENT;
    md.Format = MQC.MQFMT_STRING;
    md.CodedCharSetId = CCSID_UTF8;
    // MQ counts expiry in tenths of a second; round up so a short ttl never becomes "unlimited" (0 is invalid).
    if (m.expiryMs !== undefined) md.Expiry = Math.ceil(m.expiryMs / 100);
    const pmo = new mq.MQPMO();
    pmo.Options = MQC.MQPMO_NO_SYNCPOINT | MQC.MQPMO_FAIL_IF_QUIESCING;
    try {
      const output = await this.output(m.queue);
      // The traceparent goes as a message property, on a handle the message's put carries.
      await withProperties(this.hConn, putProperties(m), async (hMsg) => {
        if (hMsg !== undefined) pmo.OriginalMsgHandle = hMsg;
        await mq.PutPromise(output, md, pmo, Buffer.from(m.body, 'utf8'));
      });
    } catch (err) {
      throw mqFailure(`put to ${m.queue} (message ${m.messageId})`, err, this.options.queueManager);
    }
    this.log.debug(logFields(m), 'message put');
  }

  async consume(queue: string, handler: Handler, options: ConsumeOptions): Promise<Consumer> {
    this.assertOpen(`consume from ${queue}`);
    const consumer = await IbmMqConsumer.start(this.options, queue, handler, options, this.log);
    return registered(this.consumers, consumer);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.consumers].map((c) => c.abandon()));
    this.consumers.clear();
    await Promise.allSettled([...this.outputs.values()].map(async (h) => mq.ClosePromise(await h, 0)));
    await mq.DiscPromise(this.hConn).catch(() => undefined);
  }

  private output(queue: string): Promise<mq.MQObject> {
    let h = this.outputs.get(queue);
    if (h === undefined) {
      h = this.open(this.hConn, queue, MQC.MQOO_OUTPUT);
      this.outputs.set(queue, h);
      h.catch(() => this.outputs.delete(queue)); // a queue defined later can be opened on the next put
    }
    return h;
  }

  private open(hConn: mq.MQQueueManager, queue: string, options: number): Promise<mq.MQObject> {
    return openQueue(hConn, queue, options, this.options.queueManager);
  }

  private assertOpen(what: string): void {
    if (this.closed) throw new Error(`${what}: the IBM MQ transport is closed`);
  }
}

class IbmMqConsumer {
  private inFlight: Promise<void> | undefined;
  private stopped = false;

  private constructor(
    readonly queue: string,
    private readonly hConn: mq.MQQueueManager,
    private readonly input: mq.MQObject,
    private readonly backoutQueue: mq.MQObject,
    /** Each message got comes with its properties on this handle (the one before's cleared first). */
    private readonly hMsg: mq.HMSG,
    private readonly handler: Handler,
    private readonly threshold: number,
    private readonly log: Logger,
  ) {}

  static async start(
    o: IbmMqOptions,
    queue: string,
    handler: Handler,
    options: ConsumeOptions,
    log: Logger,
  ): Promise<IbmMqConsumer> {
    const hConn = await connectQueueManager(o);
    try {
      // [P3] Exclusive input: while the open site reads TO.GATEWAY no other site can.
      const input = await openQueue(hConn, queue, MQC.MQOO_INPUT_EXCLUSIVE | MQC.MQOO_INQUIRE, o.queueManager);
      // The queue's own BOTHRESH/BOQNAME, when the administrator set them, are what other MQ
      // applications honour too, so they win over the options.
      const [bothresh, boqname] = await inquire(input, [MQC.MQIA_BACKOUT_THRESHOLD, MQC.MQCA_BACKOUT_REQ_Q_NAME]);
      const threshold = typeof bothresh === 'number' && bothresh > 0 ? bothresh : options.backoutThreshold;
      const backoutName = typeof boqname === 'string' && boqname.trim() !== '' ? boqname.trim() : options.backoutQueue;
      const backout = await openQueue(hConn, backoutName, MQC.MQOO_OUTPUT, o.queueManager);
      const hMsg = await createHandle(hConn);
      const c = new IbmMqConsumer(queue, hConn, input, backout, hMsg, handler, threshold, log);
      if (options.prefetch > 1) {
        log.info(
          { queue, prefetch: options.prefetch },
          'IBM MQ consumer handles one message at a time: a unit of work spans the whole connection',
        );
      }
      log.info(
        { queue, backoutQueue: backoutName, backoutThreshold: threshold },
        'consuming from IBM MQ queue (exclusive input, syncpoint)',
      );
      c.listen();
      return c;
    } catch (err) {
      await mq.DiscPromise(hConn).catch(() => undefined);
      throw err instanceof mq.MQError ? mqFailure(`start consuming ${queue}`, err, o.queueManager) : err;
    }
  }

  /** Takes no new message, lets the one in flight settle, then disconnects. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.inFlight;
    await this.release();
  }

  /** Transport closing: back out what is in flight (redelivered later) and disconnect. */
  async abandon(): Promise<void> {
    this.stopped = true;
    await this.release();
  }

  /** Registers the MQCB callback (MQGET under syncpoint) and starts delivery with MQCTL. */
  private listen(): void {
    const md = new mq.MQMD();
    md.CodedCharSetId = CCSID_UTF8; // with MQGMO_CONVERT: deliver the body as UTF-8
    const gmo = new mq.MQGMO();
    // Properties in the handle, whatever the queue's PROPCTL: never an MQRFH2 ahead of the XML body.
    gmo.Options =
      MQC.MQGMO_SYNCPOINT |
      MQC.MQGMO_WAIT |
      MQC.MQGMO_CONVERT |
      MQC.MQGMO_PROPERTIES_IN_HANDLE |
      MQC.MQGMO_FAIL_IF_QUIESCING;
    gmo.MsgHandle = this.hMsg;
    gmo.WaitInterval = MQC.MQWI_UNLIMITED;
    // The package suspends delivery before each callback and, with autoCtl off, leaves it suspended:
    // MQCMIT/MQBACK/MQPUT on this connection are allowed then, and no second message joins the
    // unit of work before resume().
    mq.Get(this.input, md, gmo, (err, _hObj, _gmo, gotMd, data) => {
      if (err !== null) {
        if (err.mqrc !== MQC.MQRC_NO_MSG_AVAILABLE)
          this.log.warn(
            { queue: this.queue, mqrc: err.mqrc, reason: err.mqrcstr },
            'IBM MQ consumer reported a condition',
          );
        this.resume();
      } else if (gotMd === null || data === null) {
        this.resume();
      } else if (!this.stopped) {
        this.inFlight = this.deliver(gotMd, data).finally(() => {
          this.inFlight = undefined;
          this.resume();
        });
      } // else: got after stop(); release() backs it out
    });
    mq.Ctl(this.hConn, MQC.MQOP_START);
  }

  private resume(): void {
    if (this.stopped) return;
    mq.Ctl(this.hConn, MQC.MQOP_RESUME, (e) => {
      if (e)
        this.log.error(
          { queue: this.queue, mqrc: e.mqrc, reason: e.mqrcstr },
          'could not resume the IBM MQ consumer; it delivers nothing more',
        );
    });
  }

  private async deliver(md: mq.MQMD, data: Buffer): Promise<void> {
    const properties = new Map<string, PropertyValue>();
    for (const name of GOT_PROPERTIES) properties.set(name, await this.property(name, md));
    const message: IncomingMessage = {
      queue: this.queue,
      body: data.toString('utf8'),
      messageId: md.MsgId.toString('hex'),
      correlationId: md.CorrelId.equals(NO_CORREL_ID) ? null : md.CorrelId.toString('hex'),
      deliveryCount: md.BackoutCount,
      ...gotProperties((name) => properties.get(name)),
    };
    const commit = (): Promise<void> => call((cb) => mq.Cmit(this.hConn, cb));
    const back = (): Promise<void> => call((cb) => mq.Back(this.hConn, cb));
    return settle(
      {
        message,
        commit,
        rollback: back,
        backout: async () => {
          // The put to the backout queue and the get commit together: the message is in exactly one place.
          const pmo = new mq.MQPMO();
          pmo.Options = MQC.MQPMO_SYNCPOINT | MQC.MQPMO_FAIL_IF_QUIESCING;
          pmo.OriginalMsgHandle = this.hMsg; // its properties go with it
          md.Expiry = MQC.MQEI_UNLIMITED; // a poison message waits for a person, however long
          try {
            await mq.PutPromise(this.backoutQueue, md, pmo, data);
          } catch (err) {
            await back();
            throw err;
          }
          await commit();
        },
        abandoned: () => this.stopped,
      },
      this.handler,
      this.threshold,
      this.log,
    );
  }

  /** A property of the message just got; a failure to read one leaves it out, the message is still handled. */
  private async property(name: string, md: mq.MQMD): Promise<PropertyValue> {
    try {
      return await inquireProperty(this.hConn, this.hMsg, name);
    } catch (err) {
      const e = err as mq.MQError;
      this.log.warn(
        { queue: this.queue, messageId: md.MsgId.toString('hex'), property: name, mqrc: e.mqrc, reason: e.mqrcstr },
        'could not read a message property; the message is handled without it',
      );
      return undefined;
    }
  }

  private async release(): Promise<void> {
    // Suspended, the connection accepts MQBACK; MQDISC alone would commit a message got but not settled.
    await call((cb) => mq.Ctl(this.hConn, MQC.MQOP_SUSPEND, cb)).catch(() => undefined);
    await call((cb) => mq.Back(this.hConn, cb)).catch(() => undefined);
    await call((cb) => mq.GetDone(this.input, cb)).catch(() => undefined);
    await mq.ClosePromise(this.input, 0).catch(() => undefined);
    await mq.ClosePromise(this.backoutQueue, 0).catch(() => undefined);
    await deleteHandle(this.hConn, this.hMsg);
    await mq.DiscPromise(this.hConn).catch(() => undefined);
  }
}

function createHandle(hConn: mq.MQQueueManager): Promise<mq.HMSG> {
  return new Promise((resolve, reject) =>
    mq.CrtMh(hConn, new mq.MQCMHO(), (err, hMsg) => (err ? reject(err) : resolve(hMsg))),
  );
}

/** Releases a handle; one left behind goes with its connection anyway. */
function deleteHandle(hConn: mq.MQQueueManager, hMsg: mq.HMSG): Promise<void> {
  return call((cb) => mq.DltMh(hConn, hMsg, new mq.MQDMHO(), cb)).catch(() => undefined);
}

/**
 * Runs `put` with a message handle holding `properties` (MQCRTMH, MQSETMP), deleted after: a
 * handle of its own per put, since puts on the connection overlap. No handle without properties.
 */
async function withProperties(
  hConn: mq.MQQueueManager,
  properties: ReadonlyArray<[string, string]>,
  put: (hMsg: mq.HMSG | undefined) => Promise<void>,
): Promise<void> {
  if (properties.length === 0) return put(undefined);
  const hMsg = await createHandle(hConn);
  try {
    for (const [name, value] of properties)
      await call((cb) => mq.SetMp(hConn, hMsg, new mq.MQSMPO(), name, new mq.MQPD(), value, cb));
    await put(hMsg);
  } finally {
    await deleteHandle(hConn, hMsg);
  }
}

/** Room for a property's value: a traceparent is 55 bytes; a longer value is no traceparent. */
const PROPERTY_VALUE_BYTES = 256;

/** A property of the message last got with `hMsg` (MQINQMP); undefined when it has none. */
function inquireProperty(hConn: mq.MQQueueManager, hMsg: mq.HMSG, name: string): Promise<PropertyValue> {
  const impo = new mq.MQIMPO();
  impo.Options = MQC.MQIMPO_CONVERT_VALUE | MQC.MQIMPO_INQ_FIRST;
  return new Promise((resolve, reject) =>
    mq.InqMp(hConn, hMsg, impo, new mq.MQPD(), name, Buffer.alloc(PROPERTY_VALUE_BYTES), (err, _name, value) =>
      err === null ? resolve(value) : err.mqrc === MQC.MQRC_PROPERTY_NOT_AVAILABLE ? resolve(undefined) : reject(err),
    ),
  );
}

function connectQueueManager(o: IbmMqOptions): Promise<mq.MQQueueManager> {
  const cno = new mq.MQCNO();
  cno.Options = MQC.MQCNO_CLIENT_BINDING | MQC.MQCNO_RECONNECT;
  cno.ApplName = 'fps-gateway';
  const cd = new mq.MQCD();
  cd.ChannelName = o.channel;
  cd.ConnectionName = o.connName;
  cno.ClientConn = cd;
  if (o.user !== undefined) {
    const csp = new mq.MQCSP();
    csp.UserId = o.user;
    csp.Password = o.password ?? '';
    cno.SecurityParms = csp;
  }
  return mq.ConnxPromise(o.queueManager, cno).catch((err: unknown) => {
    throw mqFailure(
      `connect to queue manager ${o.queueManager} via ${o.channel} at ${o.connName}`,
      err,
      o.queueManager,
    );
  });
}

async function openQueue(
  hConn: mq.MQQueueManager,
  queue: string,
  options: number,
  queueManager: string,
): Promise<mq.MQObject> {
  const od = new mq.MQOD();
  od.ObjectName = queue;
  od.ObjectType = MQC.MQOT_Q;
  try {
    return await mq.OpenPromise(hConn, od, options | MQC.MQOO_FAIL_IF_QUIESCING);
  } catch (err) {
    throw mqFailure(`open ${queue}`, err, queueManager);
  }
}

function inquire(hObj: mq.MQObject, selectors: Array<mq.MQAttr['selector']>): Promise<Array<number | string>> {
  return new Promise((resolve, reject) => {
    mq.Inq(
      hObj,
      selectors.map((s) => new mq.MQAttr(s)),
      (err, attrs) => (err ? reject(err) : resolve(attrs.map((a) => a.value))),
    );
  });
}

/** Adapts the package's error-first callbacks to a promise. */
function call(fn: (cb: (err: mq.MQError | null) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => fn((err) => (err ? reject(err) : resolve())));
}

/** An error that names the operation and, for the common cases, the cause in words. */
/** Reason codes of a queue manager or channel that is unavailable for now, not of a bad request. */
const TRANSIENT_MQRC: ReadonlySet<number> = new Set([
  MQC.MQRC_CONNECTION_BROKEN,
  MQC.MQRC_Q_MGR_NOT_AVAILABLE,
  MQC.MQRC_Q_MGR_QUIESCING,
  MQC.MQRC_Q_MGR_STOPPING,
  MQC.MQRC_CONNECTION_QUIESCING,
  MQC.MQRC_CONNECTION_STOPPING,
  MQC.MQRC_CHANNEL_NOT_AVAILABLE,
  MQC.MQRC_HOST_NOT_AVAILABLE,
  MQC.MQRC_RECONNECTING,
  MQC.MQRC_RECONNECT_FAILED,
  MQC.MQRC_Q_FULL,
]);

function mqFailure(what: string, err: unknown, queueManager: string): Error {
  if (err instanceof mq.MQError) {
    const rc: number = err.mqrc;
    if (TRANSIENT_MQRC.has(rc))
      return new TransientFault(`${what} failed: ${err.mqccstr} ${err.mqrcstr} (${err.mqrc})`, { cause: err });
    const why =
      rc === MQC.MQRC_UNKNOWN_OBJECT_NAME
        ? `the queue is not defined on queue manager ${queueManager}`
        : rc === MQC.MQRC_OBJECT_IN_USE
          ? 'another application has it open for exclusive input'
          : `${err.mqccstr} ${err.mqrcstr} (${err.mqrc})`;
    return new Error(`${what} failed: ${why}`, { cause: err });
  }
  return new Error(`${what} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}
