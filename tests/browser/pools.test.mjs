// End-to-end: agent pools, access groups and temporary access by clicking, in Debian's
// headless Chromium against the real binary. The key of a new pool appears once with a
// working copy button; the group and grant forms submit; no console error anywhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchBrowser, shots, startAppliance } from './appliance.mjs';



test('pools, groups and temporary access by clicking', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'lantern-browser-pools-'));
  mkdirSync(shots, { recursive: true });
  const { child, url, pin, setup } = await startAppliance(join(dataDir, 'data'));
  const browser = await launchBrowser(pin);
  const problems = [];
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: url });
    const page = await context.newPage();
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()} @ ${page.url()}`); });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message} @ ${page.url()}`));
    page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()} ${r.url()}`); });
    const submit = (label) => Promise.all([page.waitForNavigation(), page.getByRole('button', { name: label }).click()]);

    await page.goto(setup);
    await page.locator('input[name=name]').fill('Ada Admin');
    await page.locator('input[name=email]').fill('ada@example.org');
    await page.locator('input[name=password]').fill('lamp lighter 2026');
    await page.locator('input[name=password_confirm]').fill('lamp lighter 2026');
    await Promise.all([page.waitForNavigation(), page.locator('form button[type=submit]').first().click()]);

    // A new pool: its key once, with a copy button that works.
    await Promise.all([page.waitForNavigation(), page.locator('nav a[href="/settings/iam/agent-pools"]').click()]);
    assert.ok((await page.content()).includes('>Default</a>'));
    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'New pool' }).click()]);
    await page.getByLabel('Name').fill('payments-prod');
    await page.getByLabel('Description').fill('Payment services');
    await submit('Create pool');
    const key = (await page.locator('.secret-once .copyable-value').innerText()).trim();
    assert.equal(key.length, 43);
    const copy = page.locator('.secret-once .copy-button');
    assert.ok(await copy.isVisible(), 'the copy button is revealed by the script');
    await copy.click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), key);
    await page.screenshot({ path: join(shots, 'pool-created.png'), fullPage: true });
    await page.goto(url + '/settings/iam/agent-pools');
    assert.ok(!(await page.content()).includes(key));

    // Detach with a reason, then re-enable.
    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'payments-prod' }).click()]);
    assert.equal(await page.locator('.secret-once').count(), 0, 'the key is not shown again');
    assert.ok(!(await page.content()).includes(key));
    await page.getByLabel('Reason').fill('moving data centre');
    await submit('Detach pool');
    assert.ok((await page.content()).includes('This pool is detached'));
    await submit('Re-enable pool');
    assert.ok((await page.content()).includes('The pool was re-enabled.'));

    // A group with the pool.
    await page.goto(url + '/settings/iam/access-groups');
    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'New group' }).click()]);
    await page.getByLabel('Name').fill('Payments team');
    await page.getByRole('group', { name: 'Agent pools' }).getByLabel('payments-prod').check();
    await submit('Create group');
    assert.ok((await page.content()).includes('The group Payments team was created.'));
    await page.screenshot({ path: join(shots, 'groups.png'), fullPage: true });

    // A grant, then revoke it through the confirmation.
    await page.goto(url + '/settings/iam/temporary-access');
    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'New grant' }).click()]);
    await page.getByLabel('Incident or ticket').fill('INC-2041');
    await page.getByRole('group', { name: 'Users' }).getByLabel('Ada Admin').check();
    await page.getByRole('group', { name: 'Agent pools' }).getByLabel('payments-prod').check();
    await page.getByRole('group', { name: 'Roles on these pools' }).getByLabel('Incident Responder').check();
    await page.getByLabel('Days').fill('0');
    await page.getByLabel('Hours').fill('4');
    await submit('Grant access');
    assert.ok((await page.content()).includes('Access was granted for INC-2041.'));
    await page.goto(url + '/profile');
    assert.ok((await page.content()).includes('INC-2041'), 'the grantee sees it on the Profile');
    await page.goto(url + '/settings/iam/temporary-access');
    page.once('dialog', (d) => d.accept());
    await page.locator('details.confirm summary').first().click();
    await submit('Revoke the grant');
    assert.ok((await page.content()).includes('Revoked'));
    await page.screenshot({ path: join(shots, 'temporary-access.png'), fullPage: true });
  } finally {
    await browser.close();
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
  assert.deepEqual(problems, []);
});
