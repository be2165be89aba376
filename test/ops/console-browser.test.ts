/**
 * The ops console in a real browser (playwright-core driving Debian's chromium): two gateway
 * sites on one ledger, each serving its console; one operator proposes a move of the open site on
 * site-a's console, another approves it on site-b's, and both pages show the other site open.
 * site-a's console drains and undrains a connection of site-b (a command site-b applies). A
 * payment is found by its FPID, the audit entries are on the page, and a screenshot of the main
 * page is saved under var/test-runs/console.png and checked not to be blank.
 *
 * Each site is its own gateway process on RabbitMQ, as in production; the scheme simulator is its
 * own process too.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import { chromium, type Browser, type Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/ledger/database.js';
import { hashSecret } from '../../src/ops/console/secrets.js';
import { stopAfterAll } from '../support/cleanup.js';
import { deleteQueues } from '../support/bank-gateway.js';
import { gatewayConfig, runParticipantId, startGateway } from '../support/stack.js';
import { startTestDatabase, type TestDatabase } from '../support/ledger.js';
import { startSchemeSim, type SchemeSim } from '../support/scheme-sim.js';
import { openSite, sitesSignedOn } from '../support/two-sites.js';

/** Debian's chromium (`apt-get install chromium`); CHROMIUM_PATH overrides. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOT = path.join(PROJECT_ROOT, 'var', 'test-runs', 'console.png');
const SECRETS = { alice: 'alice-console-secret', bob: 'bob-console-secret' };
/** A page of tables, a picture and charts compresses to far more than a blank one. */
const SCREENSHOT_BYTES_MIN = 30_000;

const cleanup = stopAfterAll();
let db: TestDatabase;
let sim: SchemeSim;
let browser: Browser;
/** Each site's HTTP server, from its ready line. */
const sites = new Map<string, string>();

beforeAll(async () => {
  db = await startTestDatabase();
  cleanup.push(() => db.stop());
  sim = await startSchemeSim(['--inbound-rate', '2', '--sort-codes', '200000']);
  cleanup.push(() => sim.stop());
  const participant = runParticipantId();
  cleanup.push(() => deleteQueues([participant]));
  const operators = [
    { name: 'alice', role: 'operator', secretHash: await hashSecret(SECRETS.alice) },
    { name: 'bob', role: 'operator', secretHash: await hashSecret(SECRETS.bob) },
  ];
  for (const [n, site] of ['site-a', 'site-b'].entries()) {
    const file = await gatewayConfig(sim, {
      site,
      databaseUrl: db.url,
      participant: { id: participant, sortCodes: ['200000'] },
      console: { operators },
    });
    const g = await startGateway(file);
    cleanup.push(async () => void (await g.stop()));
    sites.set(site, String(g.ready.http));
    // The first up opens; the second stays closed.
    await sitesSignedOn(sim, n + 1, 20_000);
  }
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Root in CI; no network beyond loopback here, so nothing in the background reaches out.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  cleanup.push(() => browser.close());
}, 120_000);

async function consoleOf(site: string, who: keyof typeof SECRETS): Promise<Page> {
  // The page's CSP allows no eval; the test's waits are expressions evaluated in the page.
  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 }, bypassCSP: true });
  const page = await context.newPage();
  await page.goto(`${sites.get(site)!}/console`);
  await page.fill('#login-name', who);
  await page.fill('#login-secret', SECRETS[who]);
  await page.click('#login-submit');
  await page.waitForSelector('#app:not([hidden])');
  return page;
}

async function confirm(page: Page): Promise<string> {
  await page.waitForSelector('#confirm[open]');
  const text = (await page.textContent('#confirm-text')) ?? '';
  await page.click('#confirm-yes');
  return text;
}

/** The PNG's image rows, inflated: a blank page is one colour throughout. */
function distinctPixelBytes(png: Buffer): number {
  let at = 8;
  const idat: Buffer[] = [];
  while (at < png.length) {
    const length = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    if (type === 'IDAT') idat.push(png.subarray(at + 8, at + 8 + length));
    at += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const seen = new Set<number>();
  for (let i = 0; i < raw.length; i += 97) seen.add(raw[i]!);
  return seen.size;
}

describe('ops console in a browser', () => {
  it('shows both sites and every connection; a move proposed by one operator and approved by another opens the other site; a payment is found by FPID; the audit is shown', async () => {
    expect((await openSite(db.pool))?.holder).toBe('site-a');
    const alice = await consoleOf('site-a', 'alice');
    // Both sites, each with its 4 connections (2 a DC), all signed on: 8 green links.
    await alice.waitForFunction("document.querySelectorAll('#sites tbody tr').length === 2");
    await alice.waitForFunction(
      `[...document.querySelectorAll('#topology line.link')].filter((l) => l.getAttribute('stroke') === '#1e8e3e').length === 8`,
      undefined,
      { timeout: 15_000 },
    );
    expect(await alice.locator('#connections tr.connection').count()).toBe(8);
    expect(await alice.textContent('#open-site-name')).toBe('site-a');

    await alice.click('#move');
    expect(await confirm(alice)).toMatch(
      /Move the open site away from site-a.*second, different operator must approve/,
    );
    await alice.waitForFunction("document.querySelector('#flash')?.textContent?.includes('proposal')");

    const bob = await consoleOf('site-b', 'bob');
    const row = bob.locator('#proposals tr.proposal[data-state="proposed"]').first();
    await row.waitFor();
    expect(await row.textContent()).toContain('alice');
    await row.locator('button.approve').click();
    expect(await confirm(bob)).toMatch(/Approve proposal \d+ \(move site-a, proposed by alice\)/);
    // Both consoles see site-b open, each from the ledger.
    for (const page of [bob, alice])
      await page.waitForFunction("document.querySelector('#open-site-name')?.textContent === 'site-b'", undefined, {
        timeout: 15_000,
      });
    expect((await openSite(db.pool))?.holder).toBe('site-b');

    // The other site's connection, drained from this site's console: a command site-b applies.
    const link = (site: string) => `#connections tr.connection[data-site="${site}"][data-connection="DC1-1"]`;
    await alice.click(`${link('site-b')} button.drain`);
    expect(await confirm(alice)).toMatch(/Drain connection DC1-1 of site-b.*sent to site-b through the ledger/);
    await alice.waitForSelector('#commands tr.command[data-state="applied"]', { timeout: 15_000 });
    await alice.waitForFunction(
      `document.querySelector('${link('site-b')}')?.textContent?.includes('(drained)')`,
      undefined,
      { timeout: 15_000 },
    );
    await alice.click(`${link('site-b')} button.drain`);
    expect(await confirm(alice)).toMatch(/Undrain connection DC1-1 of site-b/);
    await alice.waitForFunction(
      'document.querySelectorAll(\'#commands tr.command[data-state="applied"]\').length === 2',
      undefined,
      {
        timeout: 15_000,
      },
    );

    // A payment by its FPID: its journal on the page.
    let fpid: string | undefined;
    for (let i = 0; i < 40 && fpid === undefined; i++) {
      fpid = (await db.pool.query<{ fpid: string }>('SELECT fpid FROM payments LIMIT 1')).rows[0]?.fpid;
      if (fpid === undefined) await new Promise((r) => setTimeout(r, 250));
    }
    expect(fpid).toBeDefined();
    await alice.fill('#search-q', fpid!.trim());
    await alice.click('#search-go');
    await alice.waitForSelector('#payment-fpid');
    expect((await alice.textContent('#payment-fpid'))?.trim()).toBe(fpid!.trim());
    expect(await alice.locator('#journal tbody tr').count()).toBeGreaterThan(0);

    // The audit: both logins, the proposal, its approval, the move, and the drain asked and done.
    await alice.waitForFunction(
      `(() => {
        const t = [...document.querySelectorAll('#audit tr.audit-row')].map((r) => r.textContent ?? '');
        return ['propose move', 'approve', 'move', 'request drain', 'command'].every((a) => t.some((x) => x.includes(a))) &&
          t.filter((x) => x.includes('login')).length >= 2;
      })()`,
      undefined,
      { timeout: 10_000 },
    );
    const changes = await alice.textContent('#lease-changes');
    expect(changes).toContain('manual');

    await mkdir(path.dirname(SCREENSHOT), { recursive: true });
    const png = await alice.screenshot({ fullPage: true });
    await writeFile(SCREENSHOT, png);
    expect(png.length).toBeGreaterThan(SCREENSHOT_BYTES_MIN);
    expect(distinctPixelBytes(png)).toBeGreaterThan(20);
  }, 120_000);
});
