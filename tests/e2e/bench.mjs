// In-browser benchmark: headless Chromium (Playwright) against the release build in dist/.
// Prints one JSON line per figure; scripts/bench.sh runs it and puts the figures side by side.
//
//   node tests/e2e/bench.mjs [--seconds 6] [--models mmoe,ple] [--sweep-seeds 20]
//   node tests/e2e/bench.mjs --models mmoe,ple --replicas 1,16   (seeds side by side only)
//   node tests/e2e/bench.mjs --figure-seeds 10   (the Paper figure tab's grid only)
//
// For each model: samples/s on the CPU device inside wasm (the page's own readout, averaged
// over the run after a warm-up), the longest main-thread task while training, the page's
// main-thread time per progress report (Chrome's own task and script durations over the run,
// divided by the reports the page drew), and the time until the controls are interactive; and a
// seed sweep's time (`--sweep-seeds` seeds of MMoE on the correlated tasks side by side). WebGPU is measured only where a hardware adapter exists.
import { chromium } from 'playwright-core';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from './serve.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
};
const seconds = Number(flag('--seconds', '6'));
const models = flag('--models', 'single_task,shared_bottom,omoe,mmoe,cgc,ple,esmm').split(',');
const dist = resolve(flag('--dist', join(here, '..', '..', 'dist')));
const server = await serve(dist, '/');
const base = `http://127.0.0.1:${server.address().port}/`;
const emit = (o) => console.log(JSON.stringify(o));

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-background-networking', '--no-first-run', '--enable-unsafe-webgpu'],
});

async function measure(model, device, replicas = 1) {
  const page = await browser.newPage();
  const t0 = Date.now();
  // patience 0: no early stop ends the run while it is being timed.
  await page.goto(`${base}?model=${model}&epochs=100&patience=0&device=${device}&seeds=${replicas}`);
  await page.waitForFunction(
    () => {
      const t = document.querySelector('[data-testid=train-toggle]');
      return t && !t.disabled && /Ready/.test(document.querySelector('[data-testid=run-status]')?.textContent || '');
    },
    null,
    { timeout: 120_000 },
  );
  const interactiveMs = Date.now() - t0;
  const status = await page.getByTestId('device-status').textContent();
  await page.evaluate(() => {
    window.__longTasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__longTasks.push(e.duration);
    }).observe({ type: 'longtask' });
  });
  await page.getByTestId('train-toggle').click();
  await page.waitForTimeout(1500); // warm-up: the browser finishes compiling the wasm
  // Each progress report moves the step counter once: count them.
  await page.evaluate(() => {
    window.__reports = 0;
    const counter = document.querySelector('[data-testid=step-counter]');
    new MutationObserver(() => window.__reports++).observe(counter, { subtree: true, childList: true, characterData: true });
  });
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  const metrics = async () => Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]));
  const before = await metrics();
  const readings = [];
  const stepAt = async () => Number(/Step (\d+)/.exec(await page.getByTestId('step-counter').textContent())?.[1] || 0);
  const start = { step: await stepAt(), time: Date.now() };
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    await page.waitForTimeout(500);
    const text = await page.getByTestId('throughput').textContent();
    const v = Number(/([\d.]+) samples\/s/.exec(text)?.[1]);
    if (v > 0) readings.push(v);
  }
  const stop = { step: await stepAt(), time: Date.now() };
  const after = await metrics();
  const reports = await page.evaluate(() => window.__reports);
  const perReport = (name) => (reports ? Number((((after[name] - before[name]) * 1000) / reports).toFixed(2)) : null);
  await page.getByTestId('train-toggle').click();
  const longTasks = await page.evaluate(() => window.__longTasks);
  const batch = 256;
  // Every replica trains a batch per step.
  const wallSamplesPerSec = ((stop.step - start.step) * batch * replicas * 1000) / (stop.time - start.time);
  await page.close();
  return {
    model,
    device,
    replicas,
    status: status.trim(),
    // Samples/s over wall time, counting everything (reports, validation, the page).
    samples_per_sec: Math.round(wallSamplesPerSec),
    // The worker's own readout: training chunks only.
    readout_samples_per_sec: readings.length ? Math.round(readings.reduce((a, b) => a + b, 0) / readings.length) : null,
    long_tasks: longTasks.length,
    longest_task_ms: longTasks.length ? Math.round(Math.max(...longTasks)) : 0,
    // The page's main thread per progress report: all its tasks, and the script part of them.
    reports,
    main_thread_ms_per_report: perReport('TaskDuration'),
    script_ms_per_report: perReport('ScriptDuration'),
    interactive_ms: interactiveMs,
  };
}

// Seeds side by side in the CPU worker (`--replicas 1,16`): each model's samples/s, every
// replica's samples counted, at each count of replicas; then nothing else is measured.
const replicaCounts = flag('--replicas', '');
if (replicaCounts) {
  for (const model of models) {
    const rows = [];
    for (const r of replicaCounts.split(',').map(Number)) rows.push(await measure(model, 'cpu', r));
    for (const row of rows) {
      emit({ event: 'wasm_replicas', model, replicas: row.replicas, samples_per_sec: row.samples_per_sec, readout_samples_per_sec: row.readout_samples_per_sec, vs_one: Number((row.samples_per_sec / rows[0].samples_per_sec).toFixed(2)) });
    }
  }
  await browser.close();
  server.close();
  emit({ event: 'done' });
  process.exit(0);
}

// The Paper figure tab (`--figure-seeds N`): Shared-Bottom, OMoE and MMoE at four values of p,
// N seeds each, in the page's two CPU workers, from the click to the last point; then nothing
// else is measured. `mtl experiment correlation --seeds N --models shared_bottom,omoe,mmoe`
// computes the same grid natively.
const figureSeeds = Number(flag('--figure-seeds', '0'));
if (figureSeeds) {
  const page = await browser.newPage();
  await page.goto(`${base}?device=cpu`);
  await page.waitForFunction(() => /Ready/.test(document.querySelector('[data-testid=run-status]')?.textContent || ''), null, { timeout: 120_000 });
  await page.getByTestId('tab-figure').click();
  await page.getByTestId('figure-seeds').fill(String(figureSeeds));
  await page.getByTestId('figure-seeds').press('Tab');
  const t0 = Date.now();
  await page.getByTestId('figure-run').click();
  await page.waitForFunction(() => /^(Done|Stopped)/.test(document.querySelector('[data-testid=figure-status]').textContent), null, { timeout: 900_000 });
  const seconds = (Date.now() - t0) / 1000;
  const status = await page.getByTestId('figure-status').textContent();
  const points = await page.$$eval('circle.figure-point', (c) => c.length);
  emit({ event: 'wasm_figure', seeds: figureSeeds, models: 'shared_bottom,omoe,mmoe', points, seconds: Number(seconds.toFixed(1)), status });
  await browser.close();
  server.close();
  emit({ event: 'done' });
  process.exit(0);
}

// Race mode: each setup's samples/s in a race worker alone, then beside the other setup's
// worker (two CPU workers at once). Rates are step counts over wall time, read in one page.
async function raceSteps(page) {
  return page.$$eval('[data-testid=race-lane] [data-testid=step-counter]', (els) =>
    els.map((e) => Number(/Step (\d+)/.exec(e.textContent)?.[1] || 0)));
}
async function raceRates(model, opponent) {
  const page = await browser.newPage();
  await page.goto(`${base}?model=${model}&epochs=100&device=cpu`);
  await page.waitForFunction(() => /Ready/.test(document.querySelector('[data-testid=run-status]')?.textContent || ''), null, { timeout: 120_000 });
  // The race lives in a tab under the stage.
  await page.getByTestId('tab-race').click();
  await page.getByTestId('race-opponent').selectOption(opponent);
  await page.getByTestId('race-start').click();
  const lanes = opponent === 'alone' ? 1 : 2;
  // Warm-up: every lane has built its model and trained a while.
  await page.waitForFunction(
    (n) => {
      const els = [...document.querySelectorAll('[data-testid=race-lane] [data-testid=step-counter]')];
      return els.length === n && els.every((e) => Number(/Step (\d+)/.exec(e.textContent)?.[1] || 0) >= 50);
    },
    lanes,
    { timeout: 120_000 },
  );
  const s0 = await raceSteps(page);
  const t0 = Date.now();
  await page.waitForTimeout(seconds * 1000);
  const s1 = await raceSteps(page);
  const t1 = Date.now();
  await page.getByTestId('race-stop').click();
  await page.close();
  return s1.map((s, i) => Math.round(((s - s0[i]) * 256 * 1000) / (t1 - t0)));
}
const [raceA, raceB] = ['mmoe', 'shared_bottom'];
const [aloneA] = await raceRates(raceA, 'alone');
const [aloneB] = await raceRates(raceB, 'alone');
const [togetherA, togetherB] = await raceRates(raceA, raceB);
emit({
  event: 'race',
  lanes: [
    { model: raceA, alone: aloneA, together: togetherA, ratio: Number((togetherA / aloneA).toFixed(2)) },
    { model: raceB, alone: aloneB, together: togetherB, ratio: Number((togetherB / aloneB).toFixed(2)) },
  ],
});

// A seed sweep as the page trains it: `n` seeds of MMoE on the correlated tasks side by side in
// the CPU worker (one build of n replicas), from Play to the last seed's test score in Runs.
async function sweepSeconds(n) {
  const page = await browser.newPage();
  await page.goto(`${base}?data=correlated&model=mmoe&device=cpu&seed=1&seeds=${n}`);
  await page.waitForFunction(() => /Ready/.test(document.querySelector('[data-testid=run-status]')?.textContent || ''), null, { timeout: 120_000 });
  const steps = await page.evaluate(() => document.querySelector('#epochs')?.value);
  const t0 = Date.now();
  await page.getByTestId('train-toggle').click();
  await page.waitForFunction(
    (k) => document.querySelectorAll('[data-testid=runs-table] tbody tr').length >= k,
    n,
    { timeout: 600_000 },
  );
  const elapsed = (Date.now() - t0) / 1000;
  await page.close();
  return { seeds: n, epochs: Number(steps), seconds: Number(elapsed.toFixed(1)) };
}
const sweepSeeds = Number(flag('--sweep-seeds', '20'));
emit({ event: 'wasm_sweep', model: 'mmoe', data: 'correlated', device: 'cpu', ...(await sweepSeconds(sweepSeeds)) });

// Does this browser have a hardware WebGPU adapter?
const probe = await browser.newPage();
await probe.goto(base);
const adapter = await probe.evaluate(async () => {
  if (!navigator.gpu) return { kind: 'none', name: 'no navigator.gpu' };
  const a = await navigator.gpu.requestAdapter();
  if (!a) return { kind: 'none', name: 'no adapter' };
  const info = a.info || {};
  const name = [info.vendor, info.architecture, info.description].filter(Boolean).join(' ');
  const fallback = info.isFallbackAdapter || a.isFallbackAdapter || /swiftshader|llvmpipe|lavapipe/i.test(name);
  return { kind: fallback ? 'software' : 'hardware', name };
});
await probe.close();
emit({ event: 'webgpu_adapter', ...adapter });

for (const model of models) {
  emit({ event: 'wasm_cpu', ...(await measure(model, 'cpu')) });
  if (adapter.kind === 'hardware') {
    emit({ event: 'wasm_webgpu', ...(await measure(model, 'webgpu')) });
  }
}
if (adapter.kind !== 'hardware') {
  emit({ event: 'wasm_webgpu', skipped: `no hardware WebGPU adapter (${adapter.kind}: ${adapter.name})` });
}
await browser.close();
server.close();
emit({ event: 'done' });
