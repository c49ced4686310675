// End-to-end tests: Playwright (playwright-core, no downloaded browsers) drives Debian's
// Chromium against the `trunk build --release` output in dist/, served on 127.0.0.1 under a
// path prefix, so the build is also checked to work from a sub-folder of any static host.
//
//   node tests/e2e/run.mjs [--only <name substring>] [--dist <dir>]
//
// One spec per behaviour; a page object finds elements by data-testid. Screenshots go to
// tests/e2e/screenshots/ (ignored by git). The last line is "N passed, N failed", and the exit
// code is non-zero on any failure.

import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from './serve.mjs';
import { specs } from './specs.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
};
const only = flag('--only', '');
const dist = resolve(flag('--dist', join(here, '..', '..', 'dist')));
const shots = join(here, 'screenshots');
mkdirSync(shots, { recursive: true });

const PREFIX = '/some/prefix/';
const server = await serve(dist, PREFIX);
const base = `http://127.0.0.1:${server.address().port}${PREFIX}`;
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';

const launch = (extraArgs = []) =>
  chromium.launch({
    executablePath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
      '--enable-precise-memory-info',
      '--js-flags=--expose-gc',
      ...extraArgs,
    ],
  });

let passed = 0;
let failed = 0;
const started = Date.now();
for (const spec of specs) {
  if (only && !spec.name.includes(only)) continue;
  const t0 = Date.now();
  const browser = await launch(spec.browserArgs || []);
  const context = await browser.newContext({ viewport: spec.viewport || { width: 1366, height: 900 } });
  const page = await context.newPage();
  const consoleErrors = [];
  const requests = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('response', (r) => {
    if (r.status() >= 400) consoleErrors.push(`HTTP ${r.status()} for ${r.url()}`);
  });
  page.on('console', (msg) => {
    if (msg.type() === 'error') consoleErrors.push(msg.text());
  });
  page.on('pageerror', (err) => consoleErrors.push(String(err)));
  try {
    await spec.run({ page, context, base, shots, consoleErrors, requests });
    const missing = consoleErrors.filter((e) => /^HTTP 404/.test(e));
    if (missing.length) throw new Error(`the page asked for missing files: ${missing.join(', ')}`);
    const panics = consoleErrors.filter((e) => /panicked|RuntimeError|unreachable/i.test(e));
    if (panics.length) throw new Error(`a panic reached the console: ${panics[0]}`);
    passed += 1;
    console.log(`ok   ${spec.name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (err) {
    failed += 1;
    console.log(`FAIL ${spec.name} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n     ${String(err?.stack || err).split('\n').slice(0, 6).join('\n     ')}`);
    if (consoleErrors.length) console.log(`     console errors: ${consoleErrors.slice(0, 5).join(' | ')}`);
    await page.screenshot({ path: join(shots, `FAILED-${spec.slug}.png`), fullPage: true }).catch(() => {});
  } finally {
    await browser.close();
  }
}
server.close();
console.log(`(e2e took ${((Date.now() - started) / 1000).toFixed(0)} s; screenshots in ${shots})`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
