// End-to-end: every portal page for every role, in Debian's headless Chromium against the real
// binary. One appliance; the first admin (setup link) makes an API key by clicking, and with it
// one user per role, a pool, a group, a custom source, a watched package, a webhook, a
// blocklist rule and an action; a small test agent (agent.mjs) brings tags, loaded packages, a
// snapshot and a log line. Then, per role, in a context of its own: every navigation entry the
// role is shown opens (2xx), every entry it is not shown answers a clear 403 page, and a bounded
// crawl follows the same-origin links of the pages it can see (GET only, sign-out, downloads and
// event streams left out): every link shown answers 2xx/3xx for that role, and no page logs a
// console error (CSP violations included: Chromium logs them as errors, checked below with a
// blocked inline script), throws, or fails to load a same-origin stylesheet, script or image.
// Screenshots land in tests/browser/screenshots/<role>/<page>.png: every page the crawl opens
// for the first role (the Company Admin sees them all), and for the other roles their
// navigation pages and the 403 page (rendering and encoding a full-page screenshot costs more
// than loading the page; the detail pages look the same to every role that may open them).
//
// A second test covers the main flows no other browser test clicks through: an API key made
// and revoked, a watched package added, a blocklist rule saved and tested, a Service
// Configuration value changed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request as apiRequest } from 'playwright-core';
import { NAV, launchBrowser, shots, startAppliance } from './appliance.mjs';
import { connectAgent } from './agent.mjs';

const ROLES = ['company-admin', 'company-viewer', 'group-admin', 'security', 'appsec', 'incident-responder', 'developer'];
const PASSWORD = 'lamp lighter 2026';
/** Pages opened per role at most (beyond it, links are still checked, without a browser). */
const MAX_VISITS = 55;
/** Pages of one shape (same path with ids replaced, same query keys) opened per role. */
const MAX_PER_SHAPE = 2;
/** Filter or sort variants of one page opened per role (the others are only checked). */
const MAX_PER_QUERY_SHAPE = 1;
/** Links checked per role at most. */
const MAX_LINKS = 400;
/** Filter or sort variants of one page checked per role (a list's sort links are many). */
const MAX_CHECKED_PER_QUERY_SHAPE = 3;

const HELLO = {
  type: 'hello', protocol: 1, agent_id: 'orders-eu-1', instance_id: 'i-1',
  runtime: { name: 'java', version: '17.0.15', vendor: 'Debian' }, agent_version: '0.1.0',
  display_name: 'orders-eu', host: 'app-01', pid: 4242, tags: ['production', 'team/pay'],
  capabilities: ['class_loads', 'actions'],
};
const LOADS = {
  type: 'class_loads', seq: 1, initial: true, initial_done: true,
  artifacts: [
    { ref: 0, location: 'jrt:/', kind: 'runtime', coordinates: [{ source: 'runtime', name: 'openjdk', version: '17.0.15' }] },
    { ref: 1, location: '/srv/app/lib/jackson-core-2.15.2.jar', kind: 'jar',
      coordinates: [{ source: 'pom_properties', group: 'com.fasterxml.jackson.core', name: 'jackson-core', version: '2.15.2' }] },
  ],
  loads: [{ artifact: 0, count: 871 }, { artifact: 1, classes: ['com.fasterxml.jackson.core.JsonFactory'] }],
};

let dataDir;
let app;
let browser;
let admin; // the first Company Admin's page
let api; // the REST API with the admin's key
let agent = null;

/** Signs in on `page` (a fresh context) with the e-mail and the shared password. */
async function signIn(page, url, email) {
  await page.goto(url + '/sign-in');
  await page.locator('input[name=email]').fill(email);
  await page.locator('input[name=password]').fill(PASSWORD);
  await Promise.all([page.waitForNavigation(), page.locator('form button[type=submit]').first().click()]);
  assert.doesNotMatch(page.url(), /\/sign-in/, `${email} is signed in`);
}

/** Makes an API key by clicking through Settings › Security › API Keys; answers its secret. */
async function makeKey(page, url, label, scope) {
  await page.goto(url + '/settings/security/api-keys');
  await page.getByLabel('Label').fill(label);
  await page.getByRole('group', { name: 'Scopes' }).getByLabel(scope, { exact: true }).check();
  await page.getByLabel('Your current password').fill(PASSWORD);
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Create key' }).click()]);
  const secret = (await page.locator('.secret-once .copyable-value').innerText()).trim();
  assert.match(secret, /^lk_/);
  return secret;
}

/** POSTs JSON with the admin's key; answers the parsed body, failing on anything but 2xx. */
async function post(path, body) {
  const r = await api.post('/api/v1' + path, { data: body });
  assert.ok(r.ok(), `POST ${path}: ${r.status()} ${await r.text()}`);
  return r.json();
}

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'lantern-browser-every-page-'));
  mkdirSync(shots, { recursive: true });
  app = await startAppliance(join(dataDir, 'data'));
  browser = await launchBrowser(app.pin);
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  admin = await context.newPage();
  admin.on('dialog', (d) => d.accept());
  await admin.goto(app.setup);
  await admin.locator('input[name=name]').fill('Ada Admin');
  await admin.locator('input[name=email]').fill('company-admin@example.org');
  await admin.locator('input[name=password]').fill(PASSWORD);
  await admin.locator('input[name=password_confirm]').fill(PASSWORD);
  await Promise.all([admin.waitForNavigation(), admin.locator('form button[type=submit]').first().click()]);

  // The REST API runs in Node, which does not know the pin: it skips the certificate check
  // (the browser trusts exactly the pinned key).
  const key = await makeKey(admin, app.url, 'seed data', 'company-admin');
  api = await apiRequest.newContext({
    baseURL: app.url, ignoreHTTPSErrors: true, extraHTTPHeaders: { authorization: `Bearer ${key}` },
  });

  // One user per role (the admin is the Company Admin), a pool the group admin and the
  // developer reach through a group, the agent in it.
  const ids = {};
  for (const role of ROLES.slice(1)) {
    const user = await post('/users', { email: `${role}@example.org`, name: `The ${role}`, roles: [role], password: PASSWORD });
    ids[role] = user.id;
  }
  const pool = await post('/agent-pools', { name: 'payments', description: 'Payment services' });
  await post('/groups', { name: 'Payments team', members: [ids.developer, ids['group-admin']], admins: [ids['group-admin']], pools: [pool.id] });
  agent = await connectAgent(app.url, app.pin, pool.key);
  agent.send(HELLO);
  agent.send(LOADS);
  await waitFor(async () => (await api.get('/api/v1/agents')).ok() && (await (await api.get('/api/v1/agents')).json()).total === 1, 'the agent is listed');
  await post('/custom-sources', { name: 'prod orders', pool: pool.id, match: 'all', rules: [{ field: 'tag', pattern: 'prod*' }] });
  const hook = await post('/webhooks', { name: 'security inbox', url: 'https://hooks.example.org/lantern' });
  await post('/watched-packages', { package: 'com.fasterxml.jackson.core:jackson-core', version: '[2.0,2.16)', webhook: hook.id, note: 'CVE watch' });
  const blocked = await api.put('/api/v1/blocklist', { data: { rules: ['com.acme.secret.*'], exceptions: [] } });
  assert.ok(blocked.ok(), await blocked.text());
  // An action on the agent, with a snapshot and a log line as a real agent would send them.
  const snap = await post('/actions', { type: 'snapshot', location: { file: 'OrderServlet.java', line: 64 }, target: { kind: 'agent', id: HELLO.agent_id }, max_hits: 5 });
  const log = await post('/actions', { type: 'log', location: { file: 'OrderServlet.java', line: 70 }, target: { kind: 'agent', id: HELLO.agent_id }, template: 'order {order.id}' });
  const now = Date.now();
  agent.send({ type: 'action.status', id: snap.id, status: 'installed', resolved: { class: 'com.acme.OrderServlet', method: 'doGet', line: 64 } });
  agent.send({
    type: 'snapshot', id: snap.id, time: now, thread: 'http-nio-8080-exec-3',
    frames: [{ class: 'com.acme.OrderServlet', method: 'doGet', file: 'OrderServlet.java', line: 64 }],
    locals: [{ name: 'order', type: 'com.acme.Order', fields: [{ name: 'id', type: 'long', value: 42 }] }],
    watches: [],
  });
  agent.send({ type: 'log', id: log.id, time: now, level: 'info', thread: 'main', text: 'order 42' });
  await waitFor(async () => (await admin.goto(app.url + '/data-explorer')) && (await admin.content()).includes('OrderServlet'), 'the snapshot is in the Data Explorer');
});

after(async () => {
  if (agent) agent.end();
  await api?.dispose();
  await browser?.close();
  if (app) {
    app.child.kill('SIGTERM');
    await new Promise((r) => app.child.once('exit', r));
  }
  rmSync(dataDir, { recursive: true, force: true });
});

/** Polls `check` every 200 ms for up to 15 s. */
async function waitFor(check, what) {
  const deadline = Date.now() + 15_000;
  while (!(await check())) {
    assert.ok(Date.now() < deadline, `timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The shape of a URL: ids (segments with a digit) replaced, and whether it has a query
 * (filter and sort variants of one list are one shape). */
function shape(u) {
  return u.pathname.split('/').map((s) => (/\d/.test(s) ? ':id' : s)).join('/') + (u.search ? '?' : '');
}

/** A full-page screenshot through the DevTools protocol, which is about twice as fast as
 * Playwright's (it encodes for speed); the crawl takes hundreds. */
async function screenshot(cdp, path) {
  const { cssContentSize: size } = await cdp.send('Page.getLayoutMetrics');
  const { data } = await cdp.send('Page.captureScreenshot', {
    format: 'png', captureBeyondViewport: true, optimizeForSpeed: true,
    clip: { x: 0, y: 0, width: size.width, height: Math.min(size.height, 16_000), scale: 1 },
  });
  writeFileSync(path, Buffer.from(data, 'base64'));
}

/** A file name for a page's screenshot. */
function shotName(u) {
  const name = (u.pathname.slice(1).replaceAll('/', '_') || 'home') + (u.search ? '_' + u.search.slice(1) : '');
  return name.replace(/[^A-Za-z0-9_.=-]+/g, '-').slice(0, 120) + '.png';
}

/** Links never opened by the crawl: they change state, stream, or download. */
function skipped(u) {
  return u.pathname === '/sign-out' || u.pathname.endsWith('/live') || u.pathname.startsWith('/api/')
    || u.pathname.startsWith('/assets/');
}

/** Links checked for their status but not opened in the browser (files, not pages). */
function download(u, attr) {
  return attr !== null || u.pathname.startsWith('/downloads/') || u.pathname.endsWith('/export')
    || u.pathname.endsWith('/download') || u.searchParams.has('format');
}

test('every page for every role: shown pages open, hidden ones answer 403, no broken link, no console error', async () => {
  const problems = [];
  let visits = 0;
  let shotsTaken = 0;
  const timing = { goto: 0, shot: 0 };
  for (const role of ROLES) {
    const dir = join(shots, role);
    mkdirSync(dir, { recursive: true });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ignoreHTTPSErrors: true });
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    page.on('dialog', (d) => d.dismiss());
    page.on('console', (m) => {
      if (m.type() !== 'error') return;
      // The browser reports a document's own error status as a failed resource; that status
      // is checked (and reported) by the crawl itself.
      if (m.text().startsWith('Failed to load resource') && m.location().url === page.url()) return;
      problems.push(`${role}: console: ${m.text()} @ ${page.url()}`);
    });
    page.on('pageerror', (e) => problems.push(`${role}: page error: ${e.message} @ ${page.url()}`));
    page.on('response', (r) => {
      const req = r.request();
      if (req.resourceType() !== 'document' && r.url().startsWith(app.url) && r.status() >= 400) {
        problems.push(`${role}: HTTP ${r.status()} for ${req.resourceType()} ${r.url()} @ ${page.url()}`);
      }
    });
    page.on('requestfailed', (req) => {
      // Leaving a page aborts its event stream; anything else failing is a defect.
      if (!req.url().startsWith(app.url) || req.failure()?.errorText === 'net::ERR_ABORTED') return;
      problems.push(`${role}: request failed: ${req.resourceType()} ${req.url()} ${req.failure()?.errorText} @ ${page.url()}`);
    });
    await signIn(page, app.url, `${role}@example.org`);

    if (role === ROLES[0]) {
      // The detector itself: an inline script is refused by the CSP and logged as an error.
      const before = problems.length;
      await page.evaluate(() => { const s = document.createElement('script'); s.textContent = 'void 0'; document.body.append(s); });
      await waitFor(async () => problems.length > before, 'a CSP violation is logged');
      assert.match(problems.pop(), /Content Security Policy/);
      assert.equal(problems.length, before);
    }

    // The navigation this role is shown, from the start page.
    const shown = new Set(await page.locator('nav a[href]').evaluateAll((as) => as.map((a) => a.getAttribute('href'))));
    for (const href of shown) assert.ok(NAV.some(([p]) => p === href), `${role}: unknown nav entry ${href}`);
    assert.ok(shown.has('/getting-started'), `${role} sees Getting Started`);

    // Hidden entries: a clear 403 page, framed, with the error's title (one screenshot: they
    // are the same page).
    let forbiddenShot = false;
    for (const [path] of NAV.filter(([p]) => !shown.has(p))) {
      const r = await page.goto(app.url + path);
      visits++;
      if (r.status() !== 403) { problems.push(`${role}: hidden ${path} answers ${r.status()}, not 403`); continue; }
      const title = await page.locator('h1').innerText();
      const status = await page.locator('.error-status').innerText();
      if (title !== 'Not allowed' || status !== 'Error 403') problems.push(`${role}: ${path} 403 page says "${title}" / "${status}"`);
      if (!forbiddenShot) await screenshot(cdp, join(dir, `forbidden_${shotName(new URL(app.url + path))}`));
      forbiddenShot = true;
    }

    // The crawl: breadth first from the shown entries and the Profile.
    const queue = [...NAV.map(([p]) => p).filter((p) => shown.has(p)), '/profile'].map((p) => new URL(app.url + p));
    const seen = new Set(queue.map((u) => u.href));
    const shapes = new Map();
    const statuses = new Map(); // href -> final status, of pages opened and links checked
    const openedShapes = new Set();
    let opened = 0;
    const checkedShapes = new Map();
    const checkLink = async (u, from) => {
      if (!statuses.has(u.href)) {
        const n = checkedShapes.get(shape(u)) ?? 0;
        if (statuses.size >= MAX_LINKS || (u.search && n >= MAX_CHECKED_PER_QUERY_SHAPE)) return;
        checkedShapes.set(shape(u), n + 1);
        const r = await context.request.get(u.href, { maxRedirects: 0 });
        statuses.set(u.href, r.status());
      }
      const status = statuses.get(u.href);
      if (status >= 400) problems.push(`${role}: link ${u.pathname}${u.search} on ${from} answers ${status}`);
    };
    while (queue.length > 0) {
      // Breadth first, but a page of a shape not opened yet goes before more of one opened.
      const next = Math.max(0, queue.findIndex((q) => !shapes.has(shape(q))));
      const [u] = queue.splice(next, 1);
      const n = shapes.get(shape(u)) ?? 0;
      const isNav = NAV.some(([p]) => p === u.pathname && !u.search);
      if (!isNav && (opened >= MAX_VISITS || n >= (u.search ? MAX_PER_QUERY_SHAPE : MAX_PER_SHAPE))) {
        await checkLink(u, u.from);
        continue;
      }
      shapes.set(shape(u), n + 1);
      opened++;
      visits++;
      let t = Date.now();
      const r = await page.goto(u.href);
      timing.goto += Date.now() - t;
      statuses.set(u.href, r.status());
      if (!u.search) openedShapes.add(shape(u));
      if (r.status() >= 400) {
        problems.push(`${role}: ${u.pathname}${u.search}${u.from ? ` (linked from ${u.from})` : ''} answers ${r.status()}`);
        continue;
      }
      // A redirect to a page already opened (the logo's `/`) has nothing new.
      if (page.url() !== u.href && seen.has(page.url())) continue;
      if (role === ROLES[0] || isNav) {
        t = Date.now();
        await screenshot(cdp, join(dir, shotName(u)));
        timing.shot += Date.now() - t;
        shotsTaken++;
      }
      const here = `${u.pathname}${u.search}`;
      const links = await page.locator('a[href]').evaluateAll((as) => as.map((a) => [a.href, a.getAttribute('download')]));
      for (const [href, attr] of links) {
        const v = new URL(href);
        v.hash = '';
        if (v.origin !== new URL(app.url).origin || skipped(v)) continue;
        if (download(v, attr)) { await checkLink(v, here); continue; }
        if (!seen.has(v.href)) {
          seen.add(v.href);
          queue.push(v);
          // Remember where it was shown, for the message if it fails.
          v.from = here;
        }
      }
    }
    if (role === ROLES[0]) {
      // The seeded detail pages were reached, so the crawl really goes past the lists.
      for (const want of ['/data-explorer/snapshots/:id/:id', '/entities/actions/:id', '/entities/agents/:id',
        '/settings/iam/agent-pools/:id', '/settings/iam/users/:id', '/reachability/packages/:id']) {
        assert.ok(openedShapes.has(want), `${role} opened a page like ${want}: ${[...openedShapes].join(' ')}`);
      }
    }
    // Every hidden entry answered 403, every shown one opened: the nav matches the access.
    for (const [path] of NAV) {
      if (shown.has(path) && !((statuses.get(app.url + path) ?? 0) < 400)) problems.push(`${role}: shown ${path} did not open`);
    }
    await context.close();
    console.log(`${role}: ${shown.size} pages shown, ${NAV.length - shown.size} hidden, ${opened} opened, ${statuses.size} links checked`);
  }
  console.log(`${visits} page loads in all; ${timing.goto} ms loading, ${shotsTaken} screenshots in ${timing.shot} ms`);
  assert.deepEqual(problems, []);
});

test('main flows by clicking: an API key made and revoked, a watched package, a blocklist rule, a Service Configuration value', async () => {
  const problems = [];
  const url = app.url;
  const page = admin;
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()} @ ${page.url()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message} @ ${page.url()}`));
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()} ${r.url()}`); });
  const submit = (label) => Promise.all([page.waitForNavigation(), page.getByRole('button', { name: label }).click()]);
  const flows = join(shots, 'flows');
  mkdirSync(flows, { recursive: true });

  // An API key: shown once, works, is revoked through the confirmation, then answers 401.
  const secret = await makeKey(page, url, 'nightly export', 'company-admin');
  await page.screenshot({ path: join(flows, 'api-key-created.png'), fullPage: true });
  const script = await apiRequest.newContext({ baseURL: url, ignoreHTTPSErrors: true, extraHTTPHeaders: { authorization: `Bearer ${secret}` } });
  try {
    assert.equal((await script.get('/api/v1/users')).status(), 200);
    await page.goto(url + '/settings/security/api-keys');
    assert.ok(!(await page.content()).includes(secret), 'the key is not shown again');
    const row = page.locator('tr', { hasText: 'nightly export' });
    assert.ok((await row.innerText()).includes('active'));
    await row.locator('details.confirm summary').click();
    await Promise.all([page.waitForNavigation(), row.getByRole('button', { name: 'Revoke key' }).click()]);
    assert.ok((await page.locator('tr', { hasText: 'nightly export' }).innerText()).includes('revoked'));
    assert.equal((await script.get('/api/v1/users')).status(), 401, 'a revoked key no longer works');
    await page.screenshot({ path: join(flows, 'api-key-revoked.png'), fullPage: true });
  } finally {
    await script.dispose();
  }

  // A watched package, added by hand: its page, then the list.
  await Promise.all([page.waitForNavigation(), page.locator('nav a[href="/settings/reachability/watched-packages"]').click()]);
  await page.locator('input[name=package]').fill('org.apache.logging.log4j:log4j-core');
  await page.locator('input[name=version]').fill('[2.0,2.17.1)');
  await page.locator('textarea[name=note]').fill('Log4Shell');
  await submit('Watch package');
  assert.match(new URL(page.url()).pathname, /^\/settings\/reachability\/watched-packages\/[0-9a-f]+$/);
  await page.goto(url + '/settings/reachability/watched-packages');
  assert.ok((await page.content()).includes('log4j-core'));
  await page.screenshot({ path: join(flows, 'watched-package-added.png'), fullPage: true });

  // A blocklist rule: saved (pushed to agents), then the tester finds the rule.
  await Promise.all([page.waitForNavigation(), page.locator('nav a[href="/settings/security/blocklist"]').click()]);
  const rules = page.locator('textarea[name=rules]');
  await rules.fill(`${await rules.inputValue()}\n*Crypto*.java`);
  await submit('Save blocklist');
  assert.ok((await page.content()).includes('Saved. Connected agents have been sent the change.'));
  await page.locator('input[name=location]').fill('com/acme/util/AesCrypto.java:42');
  await submit('Test');
  assert.ok((await page.content()).includes('Blocked by the rule *Crypto*.java.'));
  await page.screenshot({ path: join(flows, 'blocklist-tested.png'), fullPage: true });

  // Service Configuration: a value changed, kept, and offered back to its default.
  await Promise.all([page.waitForNavigation(), page.locator('nav a[href="/settings/compliance/service-configuration"]').click()]);
  await page.locator('input[name=snapshot_hits_portal]').fill('3');
  await submit('Save');
  assert.ok((await page.content()).includes('Service Configuration was saved.'));
  await page.reload();
  assert.equal(await page.locator('input[name=snapshot_hits_portal]').inputValue(), '3');
  await page.screenshot({ path: join(flows, 'service-configuration-saved.png'), fullPage: true });
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Reset snapshot hits from the portal to default' }).click()]);
  assert.equal(await page.locator('input[name=snapshot_hits_portal]').inputValue(), '1');
  assert.deepEqual(problems, []);
});
