// End-to-end: Entities › Agents, Tags and Custom Sources by clicking, in Debian's headless
// Chromium against the real binary, with a small test agent (agent.mjs) connecting over the
// real websocket. The Agents list shows the agent without a reload (server-sent events and
// lantern.js); its page lists its artifacts and disconnects it (close code 4000); a tag is
// deleted; a custom source is made with an extra rule row and deleted; no console error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchBrowser, shots, startAppliance } from './appliance.mjs';
import { connectAgent } from './agent.mjs';

const HELLO = {
  type: 'hello', protocol: 1, agent_id: 'orders-eu-1', instance_id: 'i-1',
  runtime: { name: 'java', version: '17.0.15', vendor: 'Debian' }, agent_version: '0.1.0',
  display_name: 'orders-eu', host: 'app-01', pid: 4242, tags: ['production', 'team/pay'],
  capabilities: ['class_loads'],
};
const LOADS = {
  type: 'class_loads', seq: 1, initial: true, initial_done: true,
  artifacts: [
    { ref: 0, location: 'jrt:/', kind: 'runtime', coordinates: [{ source: 'runtime', name: 'openjdk', version: '17.0.15' }] },
    { ref: 1, location: '/srv/app/lib/guava-32.1.2-jre.jar', kind: 'jar', sha256: 'ab'.repeat(32),
      coordinates: [{ source: 'file_name_guess', name: 'guava', version: '32.1.2-jre' }] },
    { ref: 2, location: '/srv/app/lib/jackson-core-2.15.2.jar', kind: 'jar',
      coordinates: [{ source: 'pom_properties', group: 'com.fasterxml.jackson.core', name: 'jackson-core', version: '2.15.2' }] },
  ],
  loads: [{ artifact: 0, count: 871 }, { artifact: 1, classes: ['com.google.common.base.Strings'] }],
};

test('agents live, an agent page, disconnect, tags and custom sources by clicking', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'lantern-browser-entities-'));
  mkdirSync(shots, { recursive: true });
  const { child, url, pin, setup } = await startAppliance(join(dataDir, 'data'));
  const browser = await launchBrowser(pin);
  const problems = [];
  let agent = null;
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()} @ ${page.url()}`); });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message} @ ${page.url()}`));
    page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()} ${r.url()}`); });
    const submit = (label) => Promise.all([page.waitForNavigation(), page.getByRole('button', { name: label }).click()]);
    const go = (path) => Promise.all([page.waitForNavigation(), page.locator(`nav a[href="${path}"]`).click()]);

    await page.goto(setup);
    await page.locator('input[name=name]').fill('Ada Admin');
    await page.locator('input[name=email]').fill('ada@example.org');
    await page.locator('input[name=password]').fill('lamp lighter 2026');
    await page.locator('input[name=password_confirm]').fill('lamp lighter 2026');
    await Promise.all([page.waitForNavigation(), page.locator('form button[type=submit]').first().click()]);

    // No agent yet: the page says how to get one there.
    await go('/entities/agents');
    assert.ok((await page.content()).includes('No agents yet'));
    assert.equal(await page.locator('[data-live-indicator]').innerText(), 'Live');
    await page.screenshot({ path: join(shots, 'agents-empty.png'), fullPage: true });

    // A key for the Default pool, then an agent connects while the list is open: it appears
    // without a reload.
    await page.goto(url + '/settings/iam/agent-pools/default');
    await submit('Make a key');
    const key = (await page.locator('.secret-once .copyable-value').innerText()).trim();
    await page.goto(url + '/entities/agents');
    agent = await connectAgent(url, pin, key);
    agent.send(HELLO);
    agent.send(LOADS);
    await page.getByRole('link', { name: 'orders-eu' }).waitFor({ timeout: 15_000 });
    assert.ok(new URL(page.url()).pathname === '/entities/agents', 'no navigation happened');
    assert.ok((await page.locator('[data-live] tbody').innerText()).includes('Connected'));
    await page.screenshot({ path: join(shots, 'agents-live.png'), fullPage: true });

    // Pause stops the updates; Resume starts them again.
    await page.getByRole('button', { name: 'Pause' }).click();
    assert.equal(await page.locator('[data-live-indicator]').innerText(), 'Paused');
    await page.getByRole('button', { name: 'Resume' }).click();
    assert.equal(await page.locator('[data-live-indicator]').innerText(), 'Live');

    // The agent's page: artifacts, the guessed coordinate marked, class names folded.
    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'orders-eu' }).click()]);
    const body = await page.content();
    assert.ok(body.includes('jackson-core') && body.includes('>guess</span>'));
    assert.ok(body.includes('present, never loaded'));
    await page.locator('details summary', { hasText: 'show 1 name' }).click();
    assert.ok(await page.getByText('com.google.common.base.Strings').isVisible());
    await page.screenshot({ path: join(shots, 'agent-page.png'), fullPage: true });

    // Disconnect, through the confirmation: the agent is closed with code 4000.
    page.once('dialog', (d) => d.accept());
    await page.locator('details.confirm summary', { hasText: 'Disconnect' }).click();
    await submit('Disconnect the agent');
    assert.ok((await page.content()).includes('was disconnected'));
    assert.equal(await Promise.race([agent.closed, new Promise((r) => setTimeout(() => r('timeout'), 10_000))]), 4000);
    agent.end();
    agent = null;
    await page.screenshot({ path: join(shots, 'agent-disconnected.png'), fullPage: true });

    // Tags: counts link to the agents; a tag no connected agent carries can be deleted.
    await go('/entities/tags');
    assert.ok((await page.content()).includes('team/pay'));
    await page.screenshot({ path: join(shots, 'tags.png'), fullPage: true });
    const row = page.locator('tr', { hasText: 'team/pay' });
    page.once('dialog', (d) => d.accept());
    await row.locator('details.confirm summary').click();
    await Promise.all([page.waitForNavigation(), row.getByRole('button', { name: 'Delete the tag' }).click()]);
    assert.ok((await page.content()).includes('The tag team/pay was deleted from 1 agent.'));

    // Custom Sources: every rule must match; one row more than the form starts with.
    await go('/entities/custom-sources');
    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'New custom source' }).first().click()]);
    await page.getByLabel('Name', { exact: true }).fill('prod orders');
    await page.getByLabel('Matching').selectOption('all');
    await page.getByLabel('Rule 1: pattern').fill('prod*');
    assert.equal(await page.locator('[data-rule-row]').count(), 5);
    await page.getByRole('button', { name: 'Add a rule' }).click();
    assert.equal(await page.locator('[data-rule-row]').count(), 6);
    await page.getByLabel('Rule 6: what it looks at').selectOption('name');
    await page.getByLabel('Rule 6: pattern').fill('orders-*');
    await page.screenshot({ path: join(shots, 'custom-source-new.png'), fullPage: true });
    await submit('Create custom source');
    const made = await page.content();
    assert.ok(made.includes('The custom source prod orders was created.'));
    assert.ok(made.includes('>orders-eu</a>'), 'the agent it matches is listed');
    await page.screenshot({ path: join(shots, 'custom-source.png'), fullPage: true });
    page.once('dialog', (d) => d.accept());
    await page.locator('details.confirm summary', { hasText: 'Delete custom source' }).click();
    await submit('Delete the custom source');
    assert.ok((await page.content()).includes('The custom source prod orders was deleted.'));
    await page.screenshot({ path: join(shots, 'custom-sources.png'), fullPage: true });

    // Settings › Agent Pools counts the connected agents (none now).
    await go('/settings/iam/agent-pools');
    assert.ok((await page.content()).includes('0 connected'));
  } finally {
    if (agent) { agent.end(); }
    await browser.close();
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
  assert.deepEqual(problems, []);
});
