/**
 * The console's JSON API (what the page polls, and what scripts call with a bearer token) and its
 * page. Reads need a login; actions the `operator` role and, from a browser, the CSRF token.
 * Each action is audited with its result; a move and a DC drain need a second operator's
 * approval unless four eyes are off (the demo). A drain or undrain of the other site's
 * connections is sent to it as a site command; suspensions are written to the ledger.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  approveProposal,
  cancelProposal,
  finishProposal,
  leaseHistory,
  leaseView,
  paymentSteps,
  propose,
  proposalById,
  recentAudit,
  recentProposals,
  searchPayments,
  siteStatuses,
  traffic,
  type PaymentSummary,
  type Proposal,
} from '../../ledger/console.js';
import { resumeParticipant, suspendParticipant, suspensions } from '../../ledger/participant-suspensions.js';
import { recentCommands, sendCommand, type SiteCommand, type SiteCommandName } from '../../ledger/site-commands.js';
import { OPEN_SITE } from '../../ledger/site-signals.js';
import type { Dc } from '../../scheme/connection.js';
import { drainHere, targetName, undrainHere, type ConnectionTarget } from './connection-actions.js';
import type { OperatorAccount } from './config.js';
import { CONSOLE_CSP, CONSOLE_CSS, CONSOLE_JS, consolePage } from './page.js';
import { CONSOLE_PREFIX, type ConsoleContext } from './context.js';
import { siteReport } from './status-writer.js';
import type { ConsoleSite } from './site.js';

/** A site whose status row is older than this is shown as not reporting. */
const STATUS_STALE_MS = 5_000;

/** Shows the last 4 characters: enough to tell accounts apart, not to use one. */
export function maskTail(v: string | null): string | null {
  if (v === null) return null;
  return v.length <= 4 ? '•'.repeat(v.length) : `${'•'.repeat(v.length - 4)}${v.slice(-4)}`;
}

function shown(p: PaymentSummary, who: OperatorAccount): PaymentSummary {
  if (who.personalData) return p;
  return {
    ...p,
    originatorAccount: maskTail(p.originatorAccount)!,
    originatorName: maskTail(p.originatorName),
    beneficiaryAccount: maskTail(p.beneficiaryAccount)!,
    beneficiaryName: maskTail(p.beneficiaryName),
  };
}

const DC = z.enum(['DC1', 'DC2']);
const drainBody = z.union([
  z.object({ site: z.string().min(1), connection: z.string().regex(/^DC[12]-\d{1,3}$/) }),
  z.object({ site: z.string().min(1), dc: DC }),
]);
const participantBody = z.object({ participant: z.string().regex(/^[\w-]{1,35}$/) });
/** An FPID: 42 characters, the institution padded with spaces; one typed without them is padded. */
const FPID = /^[A-Z0-9 ]{42}$/;
const asFpid = (v: string) => v.trim().toUpperCase().padEnd(42, ' ');

type Reply = FastifyReply;

/** What an action answers: what happened, for the page to say. */
interface Done {
  ok: boolean;
  message: string;
  proposal?: Proposal;
  /** A drain or undrain sent to another site: its row, pending until that site applies it. */
  command?: SiteCommand;
}

export function registerConsoleRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  const site = () => ctx.site()!;
  const read = { preHandler: ctx.authenticate };
  const acting = (action: string) => ({
    config: { action },
    preHandler: [ctx.authenticate, ctx.requireOperator, ctx.csrfIfSession],
  });

  /** Audits and answers an action's outcome: 200 when done, 409 when refused, 500 when it failed. */
  const answer = async (req: FastifyRequest, reply: Reply, action: string, target: string, done: Done) => {
    await ctx.audit(req, action, done.ok ? 'ok' : 'refused', target, done.message);
    return reply.code(done.ok ? 200 : 409).send(done);
  };
  const failed = async (req: FastifyRequest, reply: Reply, action: string, target: string, e: unknown) => {
    const message = (e as Error).message;
    await ctx.audit(req, action, 'failed', target, message);
    return reply.code(500).send({ ok: false, message });
  };

  const page = consolePage();
  app.get(CONSOLE_PREFIX, async (_req, reply) =>
    reply.header('content-security-policy', CONSOLE_CSP).type('text/html; charset=utf-8').send(page),
  );
  app.get(`${CONSOLE_PREFIX}/console.js`, async (_req, reply) =>
    reply.type('text/javascript; charset=utf-8').send(CONSOLE_JS),
  );
  app.get(`${CONSOLE_PREFIX}/console.css`, async (_req, reply) =>
    reply.type('text/css; charset=utf-8').send(CONSOLE_CSS),
  );

  app.get(`${CONSOLE_PREFIX}/api/overview`, read, async () => {
    const s = site();
    const [lease, rows, proposals, t, commands, suspended] = await Promise.all([
      leaseView(s.pool, s.leaseRole),
      siteStatuses(s.pool),
      recentProposals(s.pool, 10),
      traffic(s.pool, s.tInMs),
      recentCommands(s.pool, 10),
      suspensions(s.pool),
    ]);
    const here = siteReport(s);
    const others = rows
      .filter((r) => r.site !== s.site)
      .map((r) => ({
        site: r.site,
        here: false,
        ageMs: r.ageMs,
        reporting: r.ageMs < STATUS_STALE_MS,
        report: r.status,
      }));
    return {
      site: s.site,
      nowMs: Date.now(),
      lease: lease === undefined ? null : lease,
      openSite: lease?.live === true ? lease.holder : null,
      sites: [{ site: s.site, here: true, ageMs: 0, reporting: true, report: here }, ...others].sort((a, b) =>
        a.site.localeCompare(b.site),
      ),
      proposals,
      commands,
      participants: s.participants(),
      suspensions: suspended,
      sessions: ctx.sessions(),
      traffic: t,
      fourEyes: ctx.config.fourEyes,
    };
  });

  app.get(`${CONSOLE_PREFIX}/api/payments`, read, async (req, reply) => {
    const q = z
      .object({ fpid: z.string().max(64), trn: z.string().max(64), participant: z.string().max(64) })
      .partial()
      .safeParse(req.query);
    if (!q.success) return reply.code(400).send({ error: 'search by fpid, trn or participant' });
    const by = q.data.fpid
      ? { fpid: asFpid(q.data.fpid) }
      : q.data.trn
        ? { trn: q.data.trn.trim().toUpperCase() }
        : q.data.participant
          ? { participant: q.data.participant.trim() }
          : undefined;
    if (by === undefined) return reply.code(400).send({ error: 'search by fpid, trn or participant' });
    const found = await searchPayments(site().pool, by);
    return { payments: found.map((p) => shown(p, req.operator!)) };
  });

  app.get<{ Params: { fpid: string } }>(`${CONSOLE_PREFIX}/api/payments/:fpid`, read, async (req, reply) => {
    const fpid = asFpid(req.params.fpid);
    if (!FPID.test(fpid)) return reply.code(400).send({ error: 'an FPID is 42 letters and digits' });
    const [p] = await searchPayments(site().pool, { fpid });
    if (p === undefined) return reply.code(404).send({ error: `no payment ${fpid} in the ledger` });
    return { payment: shown(p, req.operator!), steps: await paymentSteps(site().pool, fpid) };
  });

  app.get(`${CONSOLE_PREFIX}/api/history`, read, async () => {
    const s = site();
    const [leaseChanges, auditRows] = await Promise.all([leaseHistory(s.pool, s.leaseRole), recentAudit(s.pool)]);
    return { leaseChanges, audit: auditRows };
  });

  // Move the open site: through the ledger, so any site's console can ask it of whichever holds it.
  app.post(`${CONSOLE_PREFIX}/api/actions/move`, acting('move'), async (req, reply) => {
    const s = site();
    const lease = await leaseView(s.pool, s.leaseRole);
    if (lease === undefined || !lease.live)
      return answer(req, reply, 'move', '-', {
        ok: false,
        message: 'no site holds the open-site lease: nothing to move',
      });
    if (ctx.config.fourEyes) {
      const p = await propose(s.pool, {
        action: 'move',
        target: lease.holder,
        by: req.operator!.name,
        ttlMs: ctx.config.proposalTtlMs,
      });
      return answer(req, reply, 'propose move', lease.holder, {
        ok: true,
        message: `proposal ${p.id}: move the open site away from ${lease.holder}; a different operator must approve it within ${Math.round(ctx.config.proposalTtlMs / 1000)} s`,
        proposal: p,
      });
    }
    try {
      return answer(req, reply, 'move', lease.holder, await move(s, req.operator!.name));
    } catch (e) {
      return failed(req, reply, 'move', lease.holder, e);
    }
  });

  /**
   * A drain or undrain of another site's connections: a command row for it in the ledger (naming
   * this request's audit row), and a signal; that site applies it and records the result.
   */
  const send = async (
    req: FastifyRequest,
    command: SiteCommandName,
    targetSite: string,
    target: ConnectionTarget,
  ): Promise<Done> => {
    const s = site();
    const name = targetName(targetSite, target);
    if (!(await siteStatuses(s.pool)).some((r) => r.site === targetSite))
      return { ok: false, message: `no site ${targetSite} has reported to the ledger: nothing to send it` };
    const auditId = await ctx.audit(req, `request ${command}`, 'ok', name, `sent to ${targetSite} as a site command`);
    if (auditId === undefined) throw new Error('the audit row of the request could not be written: nothing sent');
    const c = await sendCommand(s.pool, {
      targetSite,
      command,
      arguments: target,
      by: req.operator!.name,
      on: s.site,
      auditId,
      ttlMs: ctx.config.commandTtlMs,
    });
    s.signal(targetSite, String(c.id));
    return {
      ok: true,
      message: `sent to ${targetSite} as command ${c.id}: pending until ${targetSite} applies it (it looks at once when signalled, else within ${Math.ceil(ctx.config.commandPollMs / 1000)} s); not applied after ${Math.round(ctx.config.commandTtlMs / 1000)} s`,
      command: c,
    };
  };

  for (const verb of ['drain', 'undrain'] as const) {
    app.post(`${CONSOLE_PREFIX}/api/actions/${verb}`, acting(verb), async (req, reply) => {
      const body = drainBody.safeParse(req.body);
      if (!body.success) return reply.code(400).send({ error: 'give site and connection (DC1-1) or dc (DC1)' });
      const b = body.data;
      const target: ConnectionTarget = 'dc' in b ? { dc: b.dc } : { connection: b.connection };
      const name = targetName(b.site, target);
      const s = site();
      if (verb === 'drain' && 'dc' in b && ctx.config.fourEyes) {
        const p = await propose(s.pool, {
          action: 'drain-dc',
          target: name,
          by: req.operator!.name,
          ttlMs: ctx.config.proposalTtlMs,
        });
        return answer(req, reply, 'propose drain-dc', name, {
          ok: true,
          message: `proposal ${p.id}: drain every connection of ${b.site} to ${b.dc}; a different operator must approve it`,
          proposal: p,
        });
      }
      try {
        if (b.site === s.site)
          return answer(req, reply, verb, name, verb === 'drain' ? await drainHere(s, target) : undrainHere(s, target));
        const sent = await send(req, verb, b.site, target);
        // Sent: audited as the request; refused: audited here.
        if (!sent.ok) return answer(req, reply, verb, name, sent);
        return reply.code(202).send(sent);
      } catch (e) {
        return failed(req, reply, verb, name, e);
      }
    });
  }

  // Suspensions are the ledger's, so that they hold whichever site is open: written here, applied
  // by the open site (at once when it is this one, else on its signal or poll) and by any site that opens.
  for (const verb of ['suspend', 'resume'] as const) {
    app.post(`${CONSOLE_PREFIX}/api/actions/${verb}`, acting(verb), async (req, reply) => {
      const body = participantBody.safeParse(req.body);
      if (!body.success) return reply.code(400).send({ error: 'give participant' });
      const s = site();
      const p = body.data.participant;
      if (!s.participants().includes(p))
        return answer(req, reply, verb, p, { ok: false, message: `no participant ${p} on ${s.site}` });
      try {
        const changed =
          verb === 'suspend'
            ? await suspendParticipant(s.pool, p, req.operator!.name, s.site)
            : await resumeParticipant(s.pool, p, req.operator!.name);
        await s.applySuspended((await suspensions(s.pool)).map((x) => x.participant));
        const open = s.status().open;
        if (changed && !open) s.signal(OPEN_SITE, p);
        const where = open ? `${s.site} (open)` : 'the open site';
        return answer(req, reply, verb, p, {
          ok: true,
          message: !changed
            ? `participant ${p} was already ${verb === 'suspend' ? 'suspended' : 'read'}`
            : verb === 'suspend'
              ? `suspended in the ledger: ${where} no longer reads ${p}'s TO.GATEWAY${open ? '' : ' (within a poll)'}, and no site that opens reads it until resumed; its messages wait on the queue`
              : `resumed in the ledger: ${where} reads ${p}'s TO.GATEWAY again${open ? '' : ' (within a poll)'}`,
        });
      } catch (e) {
        return failed(req, reply, verb, p, e);
      }
    });
  }

  app.post<{ Params: { id: string } }>(
    `${CONSOLE_PREFIX}/api/proposals/:id/approve`,
    acting('approve'),
    async (req, reply) => {
      const s = site();
      const id = Number(req.params.id);
      const p = Number.isSafeInteger(id) ? await proposalById(s.pool, id) : undefined;
      if (p === undefined)
        return answer(req, reply, 'approve', req.params.id, { ok: false, message: 'no such proposal' });
      const what = `proposal ${p.id} (${p.action} ${p.target})`;
      if (p.state !== 'proposed')
        return answer(req, reply, 'approve', what, { ok: false, message: `${what} is ${p.state}: nothing to approve` });
      if (p.proposedBy === req.operator!.name)
        return answer(req, reply, 'approve', what, {
          ok: false,
          message: `${what} needs a different operator: its proposer cannot approve it`,
        });
      const approved = await approveProposal(s.pool, p.id, req.operator!.name);
      if (approved === undefined)
        return answer(req, reply, 'approve', what, { ok: false, message: `${what} expired or was decided meanwhile` });
      await ctx.audit(req, 'approve', 'ok', what, `proposed by ${p.proposedBy}`);
      const action = p.action === 'move' ? 'move' : 'drain';
      try {
        const [targetSite, dc] = p.target.split('/');
        const drainDc = () => ({ dc: DC.parse(dc) as Dc });
        // A DC of another site is drained by that site: sent to it (audited as the request).
        const sent = p.action === 'drain-dc' && targetSite !== s.site;
        const done =
          p.action === 'move'
            ? await move(s, `${p.proposedBy}+${req.operator!.name}`)
            : sent
              ? await send(req, 'drain', targetSite!, drainDc())
              : await drainHere(s, drainDc());
        await finishProposal(s.pool, p.id, done.ok, done.message);
        const result = { ...done, proposal: (await proposalById(s.pool, p.id))! };
        if (sent && done.ok) return reply.code(202).send(result);
        return answer(req, reply, action, p.target, result);
      } catch (e) {
        await finishProposal(s.pool, p.id, false, (e as Error).message).catch(() => undefined);
        return failed(req, reply, action, p.target, e);
      }
    },
  );

  app.post<{ Params: { id: string } }>(
    `${CONSOLE_PREFIX}/api/proposals/:id/cancel`,
    acting('cancel'),
    async (req, reply) => {
      const s = site();
      const id = Number(req.params.id);
      const p = Number.isSafeInteger(id) ? await cancelProposal(s.pool, id, req.operator!.name) : undefined;
      return answer(req, reply, 'cancel', `proposal ${req.params.id}`, {
        ok: p !== undefined,
        message:
          p === undefined ? `proposal ${req.params.id} is not open: nothing to cancel` : `proposal ${p.id} cancelled`,
        ...(p === undefined ? {} : { proposal: p }),
      });
    },
  );
}

async function move(s: ConsoleSite, by: string): Promise<Done> {
  const asked = await s.requestMove(by);
  return asked === undefined
    ? { ok: false, message: 'no site holds the open-site lease now: nothing to move' }
    : {
        ok: true,
        message: `asked ${asked.holder} (epoch ${asked.epoch}) to hand over: it stops taking new work from MQ, finishes what it holds, releases the lease, and the other site opens`,
      };
}
