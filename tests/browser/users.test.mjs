// End-to-end: Settings › Identity and Access Management › Users in Debian's headless Chromium
// against the real binary. The first admin creates a user with an activation link, the new
// user activates in another browser and sees only what a Developer may, sets up two-step
// sign-in on Profile (the code computed here from the key the page shows), keeps the recovery
// codes, signs out and in again with password and code; the admin resets her two-step
// sign-in (she is signed out, and signs in with the password alone), then disables her
// (through the confirmation) and her open page falls back to sign-in. No console errors, no
// unexpected 4xx/5xx. Screenshots land in tests/browser/screenshots/users-*.png.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchBrowser, shots, startAppliance } from './appliance.mjs';

/** RFC 4648 base32 (no padding, spaces ignored) to bytes. */
function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const out = [];
  let value = 0;
  let bits = 0;
  for (const c of text.replace(/[\s=]/g, '').toUpperCase()) {
    const index = alphabet.indexOf(c);
    if (index < 0) throw new Error(`not base32: ${c}`);
    value = ((value << 5) | index) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >>> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

/** The RFC 6238 code (HMAC-SHA1, 30-second steps) an authenticator app shows at `unixMs`. */
function totp(secret, unixMs = Date.now(), digits = 6) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unixMs / 30_000)));
  const mac = createHmac('sha1', base32Decode(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const code = (mac.readUInt32BE(offset) & 0x7fffffff) % 10 ** digits;
  return String(code).padStart(digits, '0');
}

function watch(page, problems, allowed) {
  page.on('console', (m) => {
    // The browser logs the expected refusals (403 for a developer) as console errors too.
    const expected = m.text().startsWith('Failed to load resource') && allowed.some((a) => page.url().includes(a));
    if (m.type() === 'error' && !expected) problems.push(`console: ${m.text()} @ ${page.url()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message} @ ${page.url()}`));
  page.on('response', (r) => {
    if (r.status() >= 400 && !allowed.some((a) => r.url().includes(a))) problems.push(`HTTP ${r.status()} ${r.url()}`);
  });
}

test('create with an activation link, activate, two-step sign-in and its reset, disable', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'lantern-browser-users-'));
  mkdirSync(shots, { recursive: true });
  const { child, url, pin, setup } = await startAppliance(join(dataDir, 'data'));
  const browser = await launchBrowser(pin);
  const problems = [];
  try {
    const admin = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    watch(admin, problems, []);
    admin.on('dialog', (d) => d.accept());
    await admin.goto(setup);
    await admin.getByLabel('Name', { exact: false }).first().fill('Ada Admin');
    await admin.getByLabel('E-mail', { exact: false }).first().fill('ada@example.org');
    await admin.locator('input[name=password]').fill('lamp lighter 2026');
    await admin.locator('input[name=password_confirm]').fill('lamp lighter 2026');
    await Promise.all([admin.waitForNavigation(), admin.locator('form button[type=submit]').first().click()]);

    await Promise.all([admin.waitForNavigation(), admin.locator('nav a[href="/settings/iam/users"]').click()]);
    await admin.screenshot({ path: join(shots, 'users-list-one.png'), fullPage: true });
    await Promise.all([admin.waitForNavigation(), admin.getByRole('link', { name: 'Create user' }).first().click()]);
    await admin.locator('input[name=name]').fill('Nia Newcomer');
    await admin.locator('input[name=email]').fill('nia@example.org');
    assert.ok(await admin.locator('input[name=role][value=developer]').isChecked(), 'Developer preselected');
    await admin.screenshot({ path: join(shots, 'users-new.png'), fullPage: true });
    await Promise.all([admin.waitForNavigation(), admin.locator('form[action="/settings/iam/users"] button[type=submit]').click()]);
    const link = (await admin.locator('.secret-once .copyable-value').innerText()).trim();
    assert.match(link, /\/activate\?token=/);
    assert.ok(await admin.locator('.secret-once .copy-button').isVisible(), 'the copy button is revealed by lantern.js');
    await admin.screenshot({ path: join(shots, 'users-created-link.png'), fullPage: true });

    // The new user, in a browser of their own.
    const nia = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    watch(nia, problems, ['/settings/iam/users', '/sign-in']);
    await nia.goto(link);
    await nia.screenshot({ path: join(shots, 'users-activate.png'), fullPage: true });
    await nia.locator('input[name=password]').fill('quiet harbour 1987');
    await nia.locator('input[name=password_confirm]').fill('quiet harbour 1987');
    await Promise.all([nia.waitForNavigation(), nia.locator('form button[type=submit]').click()]);
    assert.match(nia.url(), /\/getting-started$/);
    assert.equal(await nia.locator('nav a[href="/settings/iam/users"]').count(), 0, 'no Users entry for a developer');
    const forbidden = await nia.goto(url + '/settings/iam/users');
    assert.equal(forbidden.status(), 403);
    await nia.goto(url + '/getting-started');

    // She sets up two-step sign-in from her Profile, by clicking.
    assert.equal(totp('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ', 59_000, 8), '94287082', 'RFC 6238 test vector');
    await nia.locator('summary[aria-label^="Account menu"]').click();
    await Promise.all([nia.waitForNavigation(), nia.locator('.user-menu-panel a[href="/profile"]').click()]);
    await Promise.all([nia.waitForNavigation(), nia.getByRole('link', { name: 'Set up two-step sign-in' }).click()]);
    const key = (await nia.locator('.copyable-value').first().innerText()).replace(/\s/g, '');
    assert.match(key, /^[A-Z2-7]{32}$/);
    assert.ok((await nia.locator('.code-block code').first().innerText()).includes(`secret=${key}`), 'the otpauth link carries the same key');
    await nia.screenshot({ path: join(shots, 'users-two-step-setup.png'), fullPage: true });
    const enrolledAt = Date.now();
    await nia.locator('input[name=code]').fill(totp(key, enrolledAt));
    await Promise.all([nia.waitForNavigation(), nia.getByRole('button', { name: 'Turn on two-step sign-in' }).click()]);
    assert.ok((await nia.content()).includes('Two-step sign-in is on'));
    const codes = (await nia.locator('.notice .code-block code').innerText()).trim().split('\n');
    assert.equal(codes.length, 10);
    for (const c of codes) assert.match(c, /^[0-9a-f]{5}-[0-9a-f]{5}$/);
    await nia.screenshot({ path: join(shots, 'users-two-step-recovery-codes.png'), fullPage: true });

    // Signs out, then in again: the password, then a code.
    await Promise.all([nia.waitForNavigation(), nia.locator('summary[aria-label^="Account menu"]').click().then(() => nia.locator('.user-menu-panel button', { hasText: 'Sign out' }).click())]);
    assert.match(nia.url(), /\/sign-in\?notice=signed-out$/);
    await nia.locator('input[name=email]').fill('nia@example.org');
    await nia.locator('input[name=password]').fill('quiet harbour 1987');
    await Promise.all([nia.waitForNavigation(), nia.locator('form button[type=submit]').click()]);
    assert.match(nia.url(), /\/sign-in\/two-step$/);
    await nia.screenshot({ path: join(shots, 'users-two-step-challenge.png'), fullPage: true });
    // The code of the enrolment's step is used up; the next step's is accepted (one step of drift).
    await nia.locator('input[name=code]').fill(totp(key, enrolledAt + 30_000));
    await Promise.all([nia.waitForNavigation(), nia.getByRole('button', { name: 'Continue' }).click()]);
    assert.match(nia.url(), /\/getting-started$/);

    // She lost her phone: the admin resets her two-step sign-in, which signs her out.
    await admin.goto(url + '/settings/iam/users');
    await Promise.all([admin.waitForNavigation(), admin.getByRole('link', { name: 'Nia Newcomer' }).click()]);
    await admin.locator('summary', { hasText: 'Reset two-step sign-in' }).click();
    await admin.screenshot({ path: join(shots, 'users-detail-two-step-reset.png'), fullPage: true });
    await Promise.all([admin.waitForNavigation(), admin.getByRole('button', { name: 'Reset now' }).click()]);
    assert.ok((await admin.content()).includes('Two-step sign-in was reset'));
    await nia.reload();
    assert.match(nia.url(), /\/sign-in/);
    await nia.locator('input[name=email]').fill('nia@example.org');
    await nia.locator('input[name=password]').fill('quiet harbour 1987');
    await Promise.all([nia.waitForNavigation(), nia.locator('form button[type=submit]').click()]);
    assert.match(nia.url(), /\/getting-started$/, 'the password alone again');

    // The admin disables her through the confirmation panel.
    await admin.goto(url + '/settings/iam/users');
    await admin.screenshot({ path: join(shots, 'users-list.png'), fullPage: true });
    await Promise.all([admin.waitForNavigation(), admin.getByRole('link', { name: 'Nia Newcomer' }).click()]);
    await admin.locator('summary', { hasText: 'Disable user' }).click();
    await admin.screenshot({ path: join(shots, 'users-detail-confirm.png'), fullPage: true });
    await Promise.all([admin.waitForNavigation(), admin.getByRole('button', { name: 'Disable now' }).click()]);
    assert.ok((await admin.content()).includes('signed out everywhere'));
    await admin.screenshot({ path: join(shots, 'users-detail-disabled.png'), fullPage: true });

    await nia.reload();
    assert.match(nia.url(), /\/sign-in/);
  } finally {
    await browser.close();
    child.kill('SIGTERM');
  }
  assert.deepEqual(problems, []);
});
