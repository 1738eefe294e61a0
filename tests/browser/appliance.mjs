// Shared by the browser tests: starts the real appliance binary on a free loopback port with
// a fresh data directory, reads its banner (URL, SPKI pin, setup link), and launches Debian's
// headless Chromium trusting exactly that key by its pin, as an agent does.
import { spawn } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');

/** The appliance binary under test. */
export const bin = process.env.LANTERN_BIN ?? join(root, 'target', 'x86_64-unknown-linux-gnu', 'debug', 'lantern');
/** Every page of the navigation, as PRODUCT.md lists them: [path, part of its title]. */
export const NAV = [
  ['/getting-started', 'Getting Started'], ['/data-explorer', 'Data Explorer'],
  ['/entities/agents', 'Agents'], ['/entities/custom-sources', 'Custom Sources'],
  ['/entities/tags', 'Tags'], ['/entities/actions', 'Actions'],
  ['/integrations', 'Integrations'], ['/reachability', 'Runtime Reachability'],
  ['/settings/organization/name-and-plan', 'Name'], ['/settings/organization/usage', 'Usage'],
  ['/settings/iam/users', 'Users'], ['/settings/iam/agent-pools', 'Agent Pools'],
  ['/settings/iam/access-groups', 'Access Groups'], ['/settings/iam/temporary-access', 'Temporary Access'],
  ['/settings/iam/identity', 'Identity'], ['/settings/ai-debugger', 'AI Debugger'],
  ['/settings/security/pii-redaction', 'PII Redaction'], ['/settings/security/blocklist', 'Blocklist'],
  ['/settings/security/audit-events', 'Audit Events'], ['/settings/security/api-keys', 'API Keys'],
  ['/settings/compliance/service-configuration', 'Service Configuration'],
  ['/settings/compliance/diagnostics', 'Diagnostics'],
  ['/settings/reachability/watched-packages', 'Watched Packages'],
  ['/settings/reachability/webhooks', 'Webhooks'], ['/settings/reachability/sbom', 'SBOM'],
  ['/settings/reachability/package-enrichment', 'Package Enrichment'],
];

/** Where screenshots go (test artifacts). */
export const shots = join(here, 'screenshots');

/** Runs `lantern serve` and resolves with `{ child, url, pin, setup }` once it has printed them. */
export function startAppliance(dataDir) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['serve', '--data-dir', dataDir, '--listen', '127.0.0.1:0'], {
      env: { ...process.env, LANTERN_PUBLIC_HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no banner in time:\n${out}`)), 60_000);
    child.on('exit', (code) => reject(new Error(`appliance exited with ${code}:\n${out}`)));
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const url = out.match(/listening on (https:\/\/127\.0\.0\.1:\d+)/);
      const pin = out.match(/pin \(for agents\): sha256\/(\S+)/);
      const setup = out.match(/(https:\/\/\S+\/setup\?token=\S+)/);
      if (url && pin && setup) {
        clearTimeout(timer);
        resolve({ child, url: url[1], pin: pin[1], setup: setup[1] });
      }
    });
  });
}

/** Debian's Chromium, headless, trusting the appliance's key by its SPKI pin. */
export function launchBrowser(pin) {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      `--ignore-certificate-errors-spki-list=${pin}`,
    ],
  });
}
