/**
 * The console's page: server-rendered HTML and one small vanilla script that logs in, polls the
 * JSON API every 1.5 s and redraws (tables, an SVG of the sites, DCs and connections, inline SVG
 * charts). No page framework; the script and style are served as files of their own so that the
 * Content-Security-Policy allows no inline script.
 */

export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export function consolePage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>FPS gateway: ops console</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/console/console.css">
<script src="/console/console.js" defer></script>
</head>
<body>
<header><h1>FPS gateway ops console</h1><span id="who"></span><button id="logout" hidden>Log out</button></header>
<section id="login" hidden>
  <h2>Log in</h2>
  <form id="login-form">
    <label>Name <input name="name" id="login-name" autocomplete="username" required></label>
    <label>Secret <input name="secret" id="login-secret" type="password" autocomplete="current-password" required></label>
    <button type="submit" id="login-submit">Log in</button>
    <p id="login-error" class="error"></p>
  </form>
</section>
<main id="app" hidden>
  <p id="flash" role="status"></p>
  <section><h2>Sites</h2>
    <p id="open-site"></p>
    <div id="picture"></div>
    <table id="sites"><thead><tr><th>site</th><th>open</th><th>epoch</th><th>bridging</th><th>in flight</th><th>connections</th><th>reporting</th></tr></thead><tbody></tbody></table>
    <p id="lease"></p>
    <p><button id="move" class="act">Move the open site</button> <span id="sessions"></span></p>
    <h3>Connections</h3>
    <table id="connections"><thead><tr><th>site</th><th>connection</th><th>DC</th><th>state</th><th>submit</th><th>receive</th><th>in flight</th><th>unanswered</th><th>since</th><th>last echo</th><th>last error</th><th></th></tr></thead><tbody></tbody></table>
    <h3>Commands to sites</h3>
    <table id="commands"><thead><tr><th>id</th><th>to</th><th>command</th><th>target</th><th>asked by</th><th>on</th><th>at</th><th>state</th><th>result</th></tr></thead><tbody></tbody></table>
    <h3>Participants</h3>
    <table id="participants"><thead><tr><th>participant</th><th>in the ledger</th><th>open site</th><th></th></tr></thead><tbody></tbody></table>
    <h3>Proposals (four eyes)</h3>
    <table id="proposals"><thead><tr><th>id</th><th>action</th><th>target</th><th>proposed by</th><th>expires</th><th>state</th><th>by</th><th>result</th><th></th></tr></thead><tbody></tbody></table>
  </section>
  <section><h2>Traffic, last 15 minutes (per second, 10 s buckets)</h2><div id="traffic"></div></section>
  <section><h2>Payments</h2>
    <form id="search"><select id="search-by"><option value="fpid">FPID</option><option value="trn">TRN</option><option value="participant">participant</option></select>
    <input id="search-q" size="44" required><button type="submit" id="search-go">Search</button></form>
    <table id="results"><thead><tr><th>FPID</th><th>direction</th><th>state</th><th>TRN</th><th>amount</th><th>originator</th><th>beneficiary</th><th>site</th></tr></thead><tbody></tbody></table>
    <div id="payment"></div>
  </section>
  <section><h2>History</h2>
    <h3>Changes of open site</h3>
    <table id="lease-changes"><thead><tr><th>at</th><th>from</th><th>to</th><th>epochs</th><th>reason</th><th>asked by</th></tr></thead><tbody></tbody></table>
    <h3>Audit log</h3>
    <table id="audit"><thead><tr><th>at</th><th>site</th><th>operator</th><th>from</th><th>action</th><th>target</th><th>result</th><th>detail</th></tr></thead><tbody></tbody></table>
  </section>
</main>
<dialog id="confirm"><p id="confirm-text"></p><button id="confirm-yes">Confirm</button> <button id="confirm-no">Cancel</button></dialog>
</body>
</html>
`;
}

export const CONSOLE_CSS = `
body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1b1f24}
header{display:flex;gap:1em;align-items:center;background:#1b2a41;color:#fff;padding:.5em 1em}
header h1{font-size:1.2em;margin:0;flex:1}
section{background:#fff;margin:1em;padding:.5em 1em;border-radius:6px;box-shadow:0 1px 2px #0002}
table{border-collapse:collapse;width:100%;margin:.3em 0}
th,td{text-align:left;padding:2px 6px;border-bottom:1px solid #e3e6ea;font-size:13px}
.error{color:#b00020}
#flash{margin:1em;padding:.3em 1em;background:#fff7d6;border-radius:4px}
#flash:empty{display:none}
.ok{color:#137333}.bad{color:#b00020}.warn{color:#a05a00}
.charts{display:flex;flex-wrap:wrap;gap:1em}
.chart{border:1px solid #e3e6ea;padding:.3em}
button{cursor:pointer}
dialog p{max-width:40em}
`;

export const CONSOLE_JS = String.raw`'use strict';
(() => {
const $ = (id) => document.getElementById(id);
const esc = (v) => String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
const time = (ms) => (ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) : '');
let me = null;
let csrf = null;
let timer = null;
let historyTimer = null;
let last = null;

async function api(path, opts = {}) {
  const headers = { ...(opts.headers || {}) };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  if (opts.method === 'POST' && csrf) headers['x-csrf-token'] = csrf;
  const r = await fetch('/console/api/' + path, { credentials: 'same-origin', ...opts, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  const j = await r.json().catch(() => ({}));
  if (r.status === 401 && path !== 'login') showLogin(j.error);
  return { status: r.status, body: j };
}

function showLogin(why) {
  me = null; csrf = null;
  if (timer) clearInterval(timer);
  if (historyTimer) clearInterval(historyTimer);
  timer = null; historyTimer = null;
  $('app').hidden = true; $('logout').hidden = true; $('who').textContent = '';
  $('login').hidden = false;
  $('login-error').textContent = why && why !== 'not logged in' ? why : '';
}

function loggedIn(s) {
  me = s; csrf = s.csrfToken;
  $('login').hidden = true; $('app').hidden = false; $('logout').hidden = false;
  $('who').textContent = s.operator + ' (' + s.role + ') on ' + s.site + (s.fourEyes ? '' : ' — four eyes OFF (demo)');
  for (const b of document.querySelectorAll('.act')) b.hidden = s.role !== 'operator';
  refresh(); history();
  timer = setInterval(refresh, 1500);
  historyTimer = setInterval(history, 3000);
}

function flash(text, good) { const f = $('flash'); f.textContent = text; f.className = good ? 'ok' : 'bad'; }

function confirmThen(text, run) {
  const d = $('confirm');
  $('confirm-text').textContent = text;
  $('confirm-yes').onclick = async () => { d.close(); const r = await run(); if (r) { flash(r.body.message || r.body.error || ('HTTP ' + r.status), r.status === 200 || r.status === 202); refresh(); history(); } };
  $('confirm-no').onclick = () => d.close();
  d.showModal();
}

function colour(c, reporting) {
  if (!reporting) return '#9aa0a6';
  if (c.state === 'ready' && c.submit && c.receive) return '#1e8e3e';
  if (c.state === 'closed') return '#d93025';
  return '#f29900';
}

function picture(o) {
  const sites = o.sites;
  const W = 640, H = 80 + 110 * Math.max(2, sites.length);
  const dcs = ['DC1', 'DC2'];
  const sy = (i) => 60 + i * ((H - 120) / Math.max(1, sites.length - 1));
  const dy = (i) => 60 + i * (H - 120);
  let s = '<svg id="topology" xmlns="http://www.w3.org/2000/svg" width="' + W + '" height="' + H + '" viewBox="0 0 ' + W + ' ' + H + '" role="img" aria-label="sites, DCs and connections">';
  sites.forEach((site, i) => {
    const conns = (site.report && site.report.connections) || [];
    conns.forEach((c, k) => {
      const d = dcs.indexOf(c.dc);
      const off = (k - (conns.length - 1) / 2) * 8;
      s += '<line class="link" data-site="' + esc(site.site) + '" data-connection="' + esc(c.id) + '" x1="170" y1="' + (sy(i) + off) + '" x2="470" y2="' + (dy(d) + off / 2) + '" stroke="' + colour(c, site.reporting) + '" stroke-width="4"><title>' + esc(site.site + ' ' + c.id + ': ' + c.state + (c.submit ? ' submit' : '') + (c.receive ? ' receive' : '')) + '</title></line>';
    });
  });
  sites.forEach((site, i) => {
    const open = o.openSite === site.site;
    s += '<rect x="20" y="' + (sy(i) - 30) + '" width="150" height="60" rx="8" fill="' + (open ? '#d2f4dc' : '#eef1f4') + '" stroke="' + (site.reporting ? '#1b2a41' : '#9aa0a6') + '" stroke-width="2"/>';
    s += '<text x="95" y="' + (sy(i) - 5) + '" text-anchor="middle" font-weight="bold">' + esc(site.site) + '</text>';
    s += '<text x="95" y="' + (sy(i) + 15) + '" text-anchor="middle" class="site-state">' + (open ? 'OPEN' : site.reporting ? 'closed' : 'not reporting') + '</text>';
  });
  dcs.forEach((dc, d) => {
    s += '<rect x="470" y="' + (dy(d) - 30) + '" width="150" height="60" rx="8" fill="#e8f0fe" stroke="#1a73e8" stroke-width="2"/>';
    s += '<text x="545" y="' + (dy(d) + 5) + '" text-anchor="middle" font-weight="bold">scheme ' + dc + '</text>';
  });
  return s + '</svg>';
}

function chart(name, series, at) {
  const W = 280, H = 70, n = series.length, per = (v) => v / 10;
  const max = Math.max(1, ...series.map(per));
  const pts = series.map((v, i) => (i * (W / Math.max(1, n - 1))).toFixed(1) + ',' + (H - (per(v) / max) * (H - 10)).toFixed(1)).join(' ');
  const now = per(series[n - 2] || 0);
  return '<div class="chart"><div>' + esc(name) + ': <b>' + now.toFixed(1) + '/s</b> (max ' + max.toFixed(1) + ')</div><svg width="' + W + '" height="' + H + '" viewBox="0 0 ' + W + ' ' + H + '"><polyline fill="none" stroke="#1a73e8" stroke-width="1.5" points="' + pts + '"/></svg></div>';
}

/** The least inbound deadline margin per bucket, seconds: how close to T_in the 9210s went. */
function marginChart(ms) {
  const W = 280, H = 70, n = ms.length;
  const known = ms.filter((v) => v !== null);
  const max = Math.max(1000, ...known);
  const pts = ms.map((v, i) => v === null ? null : (i * (W / Math.max(1, n - 1))).toFixed(1) + ',' + (H - (Math.max(0, v) / max) * (H - 10)).toFixed(1)).filter((p) => p !== null).join(' ');
  const lastKnown = known.length === 0 ? null : known[known.length - 1];
  const low = known.length === 0 ? null : Math.min(...known);
  return '<div class="chart" id="margin"><div>inbound deadline margin: <b>' + (lastKnown === null ? 'no 9210 yet' : (lastKnown / 1000).toFixed(2) + ' s') + '</b>' + (low === null ? '' : ' (least ' + (low / 1000).toFixed(2) + ' s)') + '</div><svg width="' + W + '" height="' + H + '" viewBox="0 0 ' + W + ' ' + H + '"><polyline fill="none" stroke="' + (low !== null && low < 1000 ? '#d93025' : '#1e8e3e') + '" stroke-width="1.5" points="' + pts + '"/></svg></div>';
}

function rows(id, html) { $(id).querySelector('tbody').innerHTML = html; }

function render(o) {
  last = o;
  const lease = o.lease;
  $('open-site').innerHTML = o.openSite ? 'Open site: <b id="open-site-name">' + esc(o.openSite) + '</b> (epoch ' + esc(lease.epoch) + ')' : '<b id="open-site-name" class="bad">no open site</b>';
  $('lease').textContent = lease ? 'Lease: holder ' + lease.holder + ', epoch ' + lease.epoch + (lease.live ? ', expires ' + time(lease.expiresAtMs) : ', expired') + ', last renew ' + time(lease.renewedAtMs) + (lease.moveRequestedBy ? ', move asked by ' + lease.moveRequestedBy : '') + ' (database clock ' + time(lease.dbNowMs) + ')' : 'No lease yet';
  $('picture').innerHTML = picture(o);
  const op = me && me.role === 'operator';
  rows('sites', o.sites.map((s) => { const r = s.report || {}; const cs = r.connections || []; return '<tr data-site="' + esc(s.site) + '"><td>' + esc(s.site) + (s.here ? ' (this console)' : '') + '</td><td>' + (o.openSite === s.site ? '<b class="ok">open</b>' : 'closed') + '</td><td>' + esc(r.epoch) + '</td><td>' + (r.bridging ? 'yes' : 'no') + '</td><td>' + esc((r.inFlight || {}).inbound) + ' in / ' + esc((r.inFlight || {}).outbound) + ' out</td><td>' + cs.filter((c) => c.state === 'ready').length + '/' + cs.length + ' ready</td><td class="' + (s.reporting ? 'ok' : 'bad') + '">' + (s.reporting ? 'yes' : 'no, ' + Math.round(s.ageMs / 1000) + ' s ago') + '</td></tr>'; }).join(''));
  const drainBtn = (site, body, label) => op ? '<button class="drain" data-site="' + esc(site) + '" data-body=\'' + esc(JSON.stringify(body)) + '\'>' + label + '</button>' : '';
  rows('connections', o.sites.flatMap((s) => ((s.report || {}).connections || []).map((c) => { const drained = ((s.report || {}).drained || []).includes(c.id); return '<tr class="connection" data-site="' + esc(s.site) + '" data-connection="' + esc(c.id) + '"><td>' + esc(s.site) + '</td><td>' + esc(c.id) + '</td><td>' + esc(c.dc) + '</td><td style="color:' + colour(c, s.reporting) + '">' + esc(c.state) + (drained ? ' (drained)' : '') + '</td><td>' + (c.submit ? 'on' : 'off') + '</td><td>' + (c.receive ? 'on' : 'off') + '</td><td>' + esc(c.inFlight) + '</td><td>' + esc(c.unanswered) + '</td><td>' + time(c.sinceMs) + '</td><td>' + time(c.lastEchoMs) + '</td><td>' + esc(c.lastError) + '</td><td>' + (drained ? drainBtn(s.site, { site: s.site, connection: c.id }, 'Undrain') : drainBtn(s.site, { site: s.site, connection: c.id }, 'Drain')) + '</td></tr>'; })).join('') + o.sites.map((s) => op ? '<tr><td>' + esc(s.site) + '</td><td colspan="10">whole DC</td><td>' + ['DC1', 'DC2'].map((dc) => drainBtn(s.site, { site: s.site, dc }, 'Drain ' + dc) + drainBtn(s.site, { site: s.site, dc }, 'Undrain ' + dc)).join(' ') + '</td></tr>' : '').join(''));
  const openReport = (o.sites.find((s) => s.site === o.openSite) || {}).report || {};
  rows('participants', (o.participants || []).map((p) => { const susp = (o.suspensions || []).find((x) => x.participant === p); const unread = (openReport.suspendedParticipants || []).includes(p); return '<tr class="participant-row" data-participant="' + esc(p) + '" data-suspended="' + (susp ? 'yes' : 'no') + '"><td>' + esc(p) + '</td><td>' + (susp ? '<b class="warn">suspended</b> by ' + esc(susp.by) + ' on ' + esc(susp.site) + ', ' + time(susp.atMs) : 'read while open') + '</td><td>' + (o.openSite ? esc(o.openSite) + (unread ? ' does not read it' : ' reads it') : 'no open site') + '</td><td>' + (op ? '<button class="participant" data-verb="' + (susp ? 'resume' : 'suspend') + '" data-participant="' + esc(p) + '">' + (susp ? 'Resume' : 'Suspend') + '</button>' : '') + '</td></tr>'; }).join(''));
  rows('commands', (o.commands || []).map((c) => '<tr class="command" data-id="' + c.id + '" data-state="' + esc(c.state) + '"><td>' + c.id + '</td><td>' + esc(c.targetSite) + '</td><td>' + esc(c.command) + '</td><td>' + esc(c.arguments.connection || c.arguments.dc) + '</td><td>' + esc(c.requestedBy) + '</td><td>' + esc(c.requestedOn) + '</td><td>' + time(c.requestedAtMs) + '</td><td class="' + (c.state === 'applied' ? 'ok' : c.state === 'pending' ? 'warn' : 'bad') + '">' + esc(c.state) + '</td><td>' + esc(c.result) + '</td></tr>').join(''));
  $('sessions').textContent = o.sessions ? 'Sessions on this console: ' + o.sessions.held + ' of ' + o.sessions.max : '';
  rows('proposals', o.proposals.map((p) => '<tr class="proposal" data-id="' + p.id + '" data-state="' + esc(p.state) + '"><td>' + p.id + '</td><td>' + esc(p.action) + '</td><td>' + esc(p.target) + '</td><td>' + esc(p.proposedBy) + '</td><td>' + time(p.expiresAtMs) + '</td><td>' + esc(p.state) + '</td><td>' + esc(p.decidedBy) + '</td><td>' + esc(p.result) + '</td><td>' + (op && p.state === 'proposed' ? (p.proposedBy !== me.operator ? '<button class="approve" data-id="' + p.id + '">Approve</button> ' : '') + '<button class="cancel" data-id="' + p.id + '">Cancel</button>' : '') + '</td></tr>').join(''));
  const t = o.traffic;
  $('traffic').innerHTML = '<div class="charts">' + chart('inbound', t.inbound, t.at) + chart('outbound', t.outbound, t.at) + chart('stand-ins', t.standIns, t.at) + chart('reversals', t.reversals, t.at) + chart('reply lost', t.replyLost, t.at) + marginChart(t.marginMsMin) + '</div><p>In flight now: ' + o.sites.map((s) => esc(s.site) + ' ' + esc(((s.report || {}).inFlight || {}).inbound) + ' in, ' + esc(((s.report || {}).inFlight || {}).outbound) + ' out').join('; ') + '</p>';
}

async function refresh() {
  const r = await api('overview', { headers: { 'x-console-poll': '1' } }).catch(() => null);
  if (r && r.status === 200) render(r.body);
}

async function history() {
  const r = await api('history', { headers: { 'x-console-poll': '1' } }).catch(() => null);
  if (!r || r.status !== 200) return;
  rows('lease-changes', r.body.leaseChanges.map((c) => '<tr><td>' + time(c.atMs) + '</td><td>' + esc(c.oldHolder) + '</td><td>' + esc(c.newHolder) + '</td><td>' + esc(c.oldEpoch) + ' → ' + esc(c.newEpoch) + '</td><td>' + esc(c.reason) + '</td><td>' + esc(c.requestedBy) + '</td></tr>').join(''));
  rows('audit', r.body.audit.map((a) => '<tr class="audit-row"><td>' + time(a.atMs) + '</td><td>' + esc(a.site) + '</td><td>' + esc(a.operator) + '</td><td>' + esc(a.address) + '</td><td>' + esc(a.action) + '</td><td>' + esc(a.target) + '</td><td class="' + (a.result === 'ok' ? 'ok' : 'bad') + '">' + esc(a.result) + '</td><td>' + esc(a.detail) + '</td></tr>').join(''));
}

async function showPayment(fpid) {
  const r = await api('payments/' + encodeURIComponent(fpid));
  if (r.status !== 200) { $('payment').textContent = r.body.error || ''; return; }
  const p = r.body.payment;
  $('payment').innerHTML = '<h3>Payment <span id="payment-fpid">' + esc(p.fpid) + '</span></h3><p>' + esc(p.direction) + ', ' + esc(p.state) + (p.outcome ? ' (' + esc(p.outcome) + ')' : '') + ', £' + (p.amountPence / 100).toFixed(2) + ', TRN ' + esc(p.trn) + ', participant ' + esc(p.participantId) + '<br>originator ' + esc(p.originatorSortCode) + ' ' + esc(p.originatorAccount) + ' ' + esc(p.originatorName) + '; beneficiary ' + esc(p.beneficiarySortCode) + ' ' + esc(p.beneficiaryAccount) + ' ' + esc(p.beneficiaryName) + '</p><table id="journal"><thead><tr><th>at</th><th>from</th><th>to</th><th>event</th><th>site</th><th>epoch</th></tr></thead><tbody>' + r.body.steps.map((s) => '<tr><td>' + time(s.atMs) + '</td><td>' + esc(s.from) + '</td><td>' + esc(s.to) + '</td><td>' + esc(s.event) + '</td><td>' + esc(s.site) + '</td><td>' + esc(s.epoch) + '</td></tr>').join('') + '</tbody></table>';
}

document.addEventListener('click', (e) => {
  const b = e.target.closest('button');
  if (!b) return;
  if (b.classList.contains('drain')) {
    const body = JSON.parse(b.dataset.body);
    const undrain = b.textContent.startsWith('Undrain');
    const what = body.connection ? 'connection ' + body.connection : 'every connection to ' + body.dc;
    const elsewhere = last && body.site !== last.site ? ' It is sent to ' + body.site + ' through the ledger, which applies it (shown under Commands to sites).' : '';
    const text = (undrain ? 'Undrain ' + what + ' of ' + body.site + ': it reconnects and signs on again, and carries traffic.' : 'Drain ' + what + ' of ' + body.site + ' (R8): sign off receive, answer the payments it holds, stop submitting, sign off submit and close. It stays closed until undrained.' + (body.dc && last && last.fourEyes ? ' A second operator must approve this.' : '')) + elsewhere;
    confirmThen(text, () => api('actions/' + (undrain ? 'undrain' : 'drain'), { method: 'POST', body }));
  } else if (b.classList.contains('participant')) {
    const v = b.dataset.verb, p = b.dataset.participant;
    confirmThen(v === 'suspend' ? 'Suspend reading participant ' + p + "'s TO.GATEWAY: the open site stops reading it, and so does any site that opens until it is resumed; its instructions and decisions wait on the queue (offers whose decision waits are stood in at T_in)." : 'Resume reading participant ' + p + "'s TO.GATEWAY: the open site reads it again.", () => api('actions/' + v, { method: 'POST', body: { participant: p } }));
  } else if (b.classList.contains('approve')) {
    const row = b.closest('tr');
    confirmThen('Approve proposal ' + b.dataset.id + ' (' + row.children[1].textContent + ' ' + row.children[2].textContent + ', proposed by ' + row.children[3].textContent + '): it is carried out at once.', () => api('proposals/' + b.dataset.id + '/approve', { method: 'POST', body: {} }));
  } else if (b.classList.contains('cancel')) {
    confirmThen('Cancel proposal ' + b.dataset.id + '.', () => api('proposals/' + b.dataset.id + '/cancel', { method: 'POST', body: {} }));
  }
});

$('move').onclick = () => {
  const from = last && last.openSite;
  confirmThen('Move the open site away from ' + (from || '(none)') + ': it stops taking new work from MQ, finishes what it holds and releases the lease; the other site opens.' + (last && last.fourEyes ? ' This makes a proposal: a second, different operator must approve it.' : ''), () => api('actions/move', { method: 'POST', body: {} }));
};

$('search').onsubmit = async (e) => {
  e.preventDefault();
  const by = $('search-by').value, q = $('search-q').value.trim();
  const r = await api('payments?' + by + '=' + encodeURIComponent(q));
  if (r.status !== 200) { flash(r.body.error || 'search failed', false); return; }
  rows('results', r.body.payments.map((p) => '<tr class="result"><td><a href="#" class="fpid" data-fpid="' + esc(p.fpid) + '">' + esc(p.fpid) + '</a></td><td>' + esc(p.direction) + '</td><td>' + esc(p.state) + '</td><td>' + esc(p.trn) + '</td><td>£' + (p.amountPence / 100).toFixed(2) + '</td><td>' + esc(p.originatorAccount) + ' ' + esc(p.originatorName) + '</td><td>' + esc(p.beneficiaryAccount) + ' ' + esc(p.beneficiaryName) + '</td><td>' + esc(p.site) + '</td></tr>').join('') || '<tr><td colspan="8">none found</td></tr>');
  if (r.body.payments.length === 1) showPayment(r.body.payments[0].fpid);
};
$('results').onclick = (e) => { const a = e.target.closest('a.fpid'); if (a) { e.preventDefault(); showPayment(a.dataset.fpid); } };

$('login-form').onsubmit = async (e) => {
  e.preventDefault();
  // The login form's own CSRF token first (a signed cookie of its own: there is no session yet).
  const form = await api('login');
  csrf = form.body.csrfToken || null;
  const r = await api('login', { method: 'POST', body: { name: $('login-name').value, secret: $('login-secret').value } });
  csrf = null;
  if (r.status !== 200) { $('login-error').textContent = r.body.error || ('HTTP ' + r.status); return; }
  $('login-secret').value = '';
  // The session's CSRF token comes with the session.
  const s = await api('session');
  if (s.status === 200) loggedIn(s.body); else showLogin(s.body.error);
};
$('logout').onclick = async () => { await api('logout', { method: 'POST', body: {} }); showLogin(); };

api('session').then((r) => { if (r.status === 200) loggedIn(r.body); else showLogin(r.body.error); });
})();
`;
