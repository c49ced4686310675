// The end-to-end specs, one per behaviour. `PlaygroundPage` is the page object: every element
// is found by its data-testid, which tests outside the project rely on too.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

export class PlaygroundPage {
  constructor(page, base) {
    this.page = page;
    this.base = base;
  }
  id(testid) {
    return this.page.getByTestId(testid);
  }
  async open(query = '') {
    await this.page.goto(this.base + query);
    await this.waitReady();
  }
  /** Waits until a model is built and Play is enabled. */
  async waitReady(timeout = 60_000) {
    await this.page.waitForFunction(
      () => {
        const t = document.querySelector('[data-testid=train-toggle]');
        const s = document.querySelector('[data-testid=run-status]');
        return t && !t.disabled && s && /Ready/.test(s.textContent);
      },
      null,
      { timeout },
    );
  }
  async step() {
    const text = await this.id('step-counter').textContent();
    const m = /Step (\d+)/.exec(text || '');
    return m ? Number(m[1]) : -1;
  }
  async selectModel(slug) {
    await this.id('model-select').selectOption(slug);
    await this.waitReady();
  }
  async play() {
    await this.id('train-toggle').click();
  }
  /** Plays until the step counter reaches `steps`, then ends the run ("Finish and test", unless
   * it ended on its own) and waits for its one test score. */
  async trainFor(steps, timeout = 120_000) {
    await this.play();
    await this.page.waitForFunction(
      (n) => {
        const m = /Step (\d+)/.exec(document.querySelector('[data-testid=step-counter]')?.textContent || '');
        return m && Number(m[1]) >= n;
      },
      steps,
      { timeout },
    );
    // Either way the test set is scored, once.
    await this.finishIfRunning();
    await this.waitTested(60_000);
  }
  /** Plays the run to its end (its epoch budget or early stopping) and waits for its one test
   * score. */
  async trainToEnd(timeout = 120_000) {
    await this.play();
    await this.waitTested(timeout);
  }
  /** Waits for the run's one test score, without pressing anything (a lesson step trains by
   * itself). */
  async waitTested(timeout = 120_000) {
    await this.page.waitForFunction(
      () => /Test scores at step/.test(document.querySelector('[data-testid=metrics-table]')?.parentElement?.textContent || ''),
      null,
      { timeout },
    );
  }
  /** Pauses, unless the run has meanwhile ended on its own (its epoch budget; the toggle is then
   * a disabled Play). The check and the click run in one turn of the page's event loop, so the
   * run cannot end between them. */
  async pauseIfRunning() {
    await this.page.evaluate(() => {
      const toggle = document.querySelector('[data-testid=train-toggle]');
      if (toggle.getAttribute('aria-pressed') === 'true') toggle.click();
    });
  }
  /** Presses "Finish and test", unless the run has meanwhile ended on its own (the button is
   * then disabled); the check and the click run in one turn of the page's event loop. */
  async finishIfRunning() {
    await this.page.evaluate(() => {
      const finish = document.querySelector('[data-testid=finish-test]');
      if (!finish.disabled) finish.click();
    });
  }
  async linePoints(testid) {
    return this.page.$$eval(`[data-testid=${testid}] polyline.series`, (ls) =>
      ls.map((l) => (l.getAttribute('points') || '').trim().split(/\s+/).filter(Boolean).length),
    );
  }
  /** The models the model select offers for the current data set, in its order, and which of
   * them have gates: the page's vocabulary, read from the page (its options' `data-gated`). */
  async models() {
    return this.page.$$eval('[data-testid=model-select] option', (os) =>
      os.map((o) => ({ slug: o.value, gated: o.dataset.gated === 'true' })),
    );
  }
  async metrics() {
    return this.page.$$eval('[data-testid=metrics-table] tbody tr', (rows) =>
      rows.map((r) => ({
        task: r.dataset.task,
        validAuc: Number(r.querySelector('.valid-auc')?.textContent),
        testAuc: Number(r.querySelector('.test-auc')?.textContent),
      })),
    );
  }
  async gateRows() {
    return this.page.$$eval('[data-testid=gate-heatmap] tr', (rows) =>
      rows.map((r) => ({
        label: r.querySelector('th')?.textContent,
        weights: [...r.querySelectorAll('td:not(.share):not(.spread)')].map((td) => Number(td.querySelector('.weight')?.textContent)),
        spread: Number(r.querySelector('td.spread .weight')?.textContent),
      })),
    );
  }
  /** Clicks a control, first opening the tab under the stage that holds it, as a learner would. */
  async click(testid) {
    const key = await this.page.evaluate((t) => document.querySelector(`[data-testid="${t}"]`)?.closest('[role=tabpanel]')?.id.replace('tabpanel-', '') || null, testid);
    if (key) await this.tab(key);
    await this.id(testid).click();
  }
  /** Opens the tab under the stage with this key (lessons, scores, gates, conflict, race, runs,
   * code), if it is not open. */
  async tab(key) {
    const t = this.id(`tab-${key}`);
    if ((await t.getAttribute('aria-selected')) !== 'true') await t.click();
    await this.page.waitForFunction((k) => !document.getElementById(`tabpanel-${k}`).hidden, key);
  }
  /** The stage's views that lie wholly between the sticky run bar and the bottom of the window,
   * once the stage is scrolled to just under the bar. */
  async stageInView(ids) {
    return this.page.evaluate((ids) => {
      const bar = document.querySelector('.runbar');
      // The bar sticks at the top once the header has scrolled away.
      window.scrollBy(0, document.querySelector('.stage').getBoundingClientRect().top - bar.getBoundingClientRect().height - 2);
      const top = bar.getBoundingClientRect().bottom - 1;
      return Object.fromEntries(ids.map((id) => {
        const r = document.querySelector(`[data-testid=${id}]`).getBoundingClientRect();
        return [id, { top: Math.round(r.top), bottom: Math.round(r.bottom), inView: r.height > 0 && r.top >= top && r.bottom <= window.innerHeight }];
      }));
    }, ids);
  }
  async screenshot(shots, name) {
    await this.page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  }
}

export const specs = [
  {
    name: 'the page loads, shows its device and says why',
    slug: 'loads',
    async run({ page, base, shots, requests }) {
      const t0 = Date.now();
      const p = new PlaygroundPage(page, base);
      const warnings = [];
      page.on('console', (m) => { if (m.type() === 'warning') warnings.push(m.text()); });
      await p.open();
      // The workers start their wasm as wasm-bindgen asks: no deprecation warning in the console.
      const deprecated = warnings.filter((w) => /deprecated/.test(w));
      assert(deprecated.length === 0, `console warnings: ${deprecated}`);
      const status = await p.id('device-status').textContent();
      assert(/CPU/.test(status), `device status: ${status}`);
      assert(/WebGPU|Auto/.test(status), `the status says why: ${status}`);
      for (const id of ['model-select', 'train-toggle', 'step', 'reset', 'loss-chart', 'gate-heatmap', 'metrics-table', 'step-counter']) {
        assert((await p.id(id).count()) === 1, `one ${id}`);
      }
      // Only the CPU worker was loaded: the WebGPU worker is lazy.
      const wasm = requests.filter((n) => n.endsWith('.wasm'));
      assert(wasm.some((n) => /worker_bg/.test(n)) && !wasm.some((n) => /worker_gpu/.test(n)), `wasm loaded: ${wasm}`);
      console.log(`     ready to train after ${Date.now() - t0} ms`);
      await p.screenshot(shots, 'loaded');
    },
  },
  {
    name: 'every model trains on the CPU device and its plots, AUC and gates update',
    slug: 'every-model',
    async run({ page, base, shots }) {
      const p = new PlaygroundPage(page, base);
      await p.open();
      const models = await p.models();
      assert(models.length >= 7 && models.some((m) => m.gated) && models.some((m) => !m.gated), `models offered: ${JSON.stringify(models)}`);
      for (const { slug: model, gated } of models) {
        await p.selectModel(model);
        assert((await p.step()) === 0, `${model}: a new model starts at step 0`);
        await p.trainFor(model === 'ple' || model === 'cgc' ? 120 : 300);
        const points = await p.linePoints('loss-chart');
        assert(points.length === 4 && points.every((n) => n >= 2), `${model}: loss curves ${points}`);
        const auc = await p.linePoints('metric-chart');
        assert(auc.every((n) => n >= 2), `${model}: AUC curves ${auc}`);
        const metrics = await p.metrics();
        assert(metrics.length >= 2, `${model}: metrics rows`);
        for (const m of metrics.slice(0, 2)) {
          assert(m.validAuc > 0.6 && m.validAuc < 1, `${model} ${m.task}: validation AUC ${m.validAuc}`);
          assert(m.testAuc > 0.6 && m.testAuc < 1, `${model} ${m.task}: test AUC ${m.testAuc}`);
        }
        const rows = await p.gateRows();
        if (gated) {
          assert(rows.length >= 1, `${model}: gate rows`);
          for (const r of rows) {
            const sum = r.weights.reduce((a, b) => a + b, 0);
            assert(Math.abs(sum - 1) < 0.05, `${model} ${r.label}: weights sum to ${sum}`);
          }
        } else {
          const text = await p.id('gate-heatmap').textContent();
          assert(/no gates|nothing to gate/.test(text), `${model}: says why it has no gates: ${text}`);
        }
        await p.screenshot(shots, `model-${model}`);
      }
    },
  },
  {
    name: "MMoE: each task's gate moves away from its initial weights, and the two end apart",
    slug: 'mmoe-gates',
    async run({ page, base, shots }) {
      const p = new PlaygroundPage(page, base);
      await p.open();
      await p.selectModel('mmoe');
      // One step reports the gates as initialised: the first report is the model's own weights.
      await p.id('step').click();
      await page.waitForFunction(() => /Step 1\b/.test(document.querySelector('[data-testid=step-counter]')?.textContent || ''));
      const initial = await p.gateRows();
      const legend = await p.id('gate-legend').textContent();
      assert(/1\/n, the even split/.test(legend) && /4× 1\/n or more/.test(legend), `the colour legend says 1/n: ${legend}`);
      await p.trainFor(400);
      const rows = await p.gateRows();
      assert(rows.length === 2 && initial.length === 2, `two gates: ${JSON.stringify({ initial, rows })}`);
      const l1 = (a, b) => a.reduce((acc, w, i) => acc + Math.abs(w - b[i]), 0);
      const moved = rows.map((r, i) => l1(r.weights, initial[i].weights));
      const apart = l1(rows[0].weights, rows[1].weights);
      console.log(`     gate L1 moved from step 1: ${moved.map((m) => m.toFixed(3)).join(', ')}; between the tasks: ${l1(initial[0].weights, initial[1].weights).toFixed(3)} -> ${apart.toFixed(3)}`);
      // A gate that no task reads gets no gradient, but it still drifts a little, because its
      // input (the embeddings) trains. Measured at the page's defaults over 400 steps: with task
      // 2 wired to gate 1 on purpose, gate 2 moved 0.05 (gate 1: 0.23); wired right, the gates
      // moved 0.30 and 0.33. The bar sits between the two.
      for (const [i, m] of moved.entries()) {
        assert(m > 0.15, `gate ${i + 1} moved only ${m.toFixed(3)} from ${JSON.stringify(initial[i].weights)} to ${JSON.stringify(rows[i].weights)}`);
      }
      assert(apart > 0.02, `the tasks' gates end apart: ${JSON.stringify(rows)}`);
      // The per-row view: a fresh gate weighs every expert alike for every row (1.00); trained,
      // rows are routed apart, though the mean weights stay near 1/n.
      console.log(`     per-row spread: fresh ${initial.map((r) => r.spread).join(', ')}; trained ${rows.map((r) => r.spread).join(', ')}`);
      for (const [i, r] of rows.entries()) {
        assert(initial[i].spread >= 0.98 && r.spread < initial[i].spread, `gate ${i + 1}: per-row spread ${initial[i].spread} -> ${r.spread}`);
      }
      await p.screenshot(shots, 'mmoe-gates');
    },
  },
  {
    name: 'the main thread never blocks for 50 ms while training',
    slug: 'long-tasks',
    async run({ page, base }) {
      const p = new PlaygroundPage(page, base);
      await p.open('?model=mmoe&epochs=100');
      // Each main-thread task over 50 ms: when it started after Play, and how long it took.
      await page.evaluate(() => {
        window.__longTasks = [];
        new PerformanceObserver((list) => {
          for (const e of list.getEntries()) window.__longTasks.push([e.startTime - window.__played, e.duration]);
        }).observe({ type: 'longtask' });
        window.__played = performance.now();
      });
      await p.play();
      await page.waitForTimeout(6000);
      await p.id('train-toggle').click();
      const all = await page.evaluate(() => window.__longTasks);
      const steps = await p.step();
      // The first second (the first reports draw the charts' first lines) is reported, not
      // asserted: on this 2-core machine one run in four shows a 150–600 ms task there, the
      // commit before these specs changed too, and never under the profiler (issue 24's note).
      // Training itself, from then on, must never block.
      const [early, tasks] = [all.filter((t) => t[0] < 1000), all.filter((t) => t[0] >= 1000).map((t) => t[1])];
      const ms = (ts) => ts.map((t) => t.toFixed(0)).join(', ');
      console.log(`     ${steps} steps in 6 s; main-thread tasks over 50 ms: ${tasks.length}${tasks.length ? ` (longest ${Math.max(...tasks).toFixed(0)} ms)` : ''}; in the first second: ${early.length ? ms(early.map((t) => t[1])) + ' ms' : 'none'}`);
      assert(steps > 50, `training ran: ${steps} steps`);
      assert(tasks.length === 0, `long tasks after the first second: ${ms(tasks)} ms`);
    },
  },
  {
    name: 'bad input is clamped or refused with a message, and the learning rate applies live',
    slug: 'bad-input',
    async run({ page, base, shots }) {
      const p = new PlaygroundPage(page, base);
      await p.open();
      await page.fill('#experts', '999');
      await page.press('#experts', 'Enter');
      await page.locator('#experts').blur();
      await page.waitForFunction(() => document.querySelector('#experts').value === '16');
      let notices = await p.id('notices').textContent();
      assert(/experts must be between 1 and 16/.test(notices), `notice: ${notices}`);
      // Said under the field too, which is marked invalid and described by the message.
      assert(/must be between 1 and 16; 999 became 16/.test(await p.id('experts-error').textContent()), 'the message under the field');
      assert((await page.getAttribute('#experts', 'aria-invalid')) === 'true', 'the field is marked invalid');
      assert((await page.getAttribute('#experts', 'aria-describedby')).startsWith('experts-error'), 'and described by its message');
      await page.fill('#tower-units', '16,abc');
      await page.locator('#tower-units').blur();
      await page.waitForFunction(() => /not a positive whole number/.test(document.querySelector('[data-testid=notices]')?.textContent || ''));
      assert((await page.inputValue('#tower-units')) === '16,8', 'the old tower sizes stay');
      assert(/not a positive whole number.*kept the old value/.test(await p.id('tower-units-error').textContent()), 'the refusal under its field');
      // An accepted value clears the field's message.
      await page.fill('#experts', '6');
      await page.locator('#experts').blur();
      await page.waitForFunction(() => document.querySelector('#experts').getAttribute('aria-invalid') === 'false' && !document.querySelector('[data-testid=experts-error]'));
      // The learning rate changes live: training continues from the same step.
      await p.waitReady();
      await p.play();
      await page.waitForFunction(() => /Step [1-9]/.test(document.querySelector('[data-testid=step-counter]').textContent));
      // Every value the counter shows from here on, so a reset cannot slip between two reads.
      await page.evaluate(() => {
        const counter = document.querySelector('[data-testid=step-counter]');
        const read = () => Number(/Step (\d+)/.exec(counter.textContent)?.[1]);
        window.__steps = [read()];
        new MutationObserver(() => window.__steps.push(read())).observe(counter, { subtree: true, childList: true, characterData: true });
      });
      const before = await p.step();
      await page.fill('#lr', '0.01');
      await page.locator('#lr').blur();
      // The same model trains on with the new rate: the counter passes `before` and never drops
      // (a rebuild would put it back to 0).
      await page.waitForFunction((n) => window.__steps.at(-1) > n + 20, before);
      const seen = (await page.evaluate(() => window.__steps)).filter(Number.isFinite);
      assert(seen.every((v, i) => i === 0 || v >= seen[i - 1]), `the counter never goes back: ${seen.join(' ')}`);
      assert(!/learning rate/.test(await p.id('notices').textContent()), 'a valid rate gives no notice');
      await page.fill('#lr', '50');
      await page.locator('#lr').blur();
      await page.waitForFunction(() => /learning rate must be in/.test(document.querySelector('[data-testid=notices]')?.textContent || ''));
      assert((await page.inputValue('#lr')) === '1', `clamped to 1: ${await page.inputValue('#lr')}`);
      await p.id('train-toggle').click();
      await p.screenshot(shots, 'bad-input');
    },
  },
  {
    name: '100 resets and model switches leave memory flat and no training behind',
    slug: 'resets',
    async run({ page, base, context }) {
      const p = new PlaygroundPage(page, base);
      await p.open();
      const heap = async () => {
        await page.evaluate(() => window.gc && window.gc());
        return page.evaluate(() => performance.memory.usedJSHeapSize);
      };
      // Warm up once, so lazily created structures do not count as growth.
      await p.trainFor(20);
      const before = await heap();
      const models = ['mmoe', 'ple', 'shared_bottom', 'esmm', 'cgc'];
      for (let i = 0; i < 100; i++) {
        if (i % 2 === 0) {
          await p.id('model-select').selectOption(models[(i / 2) % models.length]);
        } else {
          await p.id('reset').click();
        }
        if (i % 10 === 9) await p.waitReady();
      }
      await p.waitReady();
      const stepBefore = await p.step();
      await page.waitForTimeout(1500);
      assert((await p.step()) === 0 && stepBefore === 0, 'no stale training loop moves the counter');
      const after = await heap();
      const growth = (after - before) / 1e6;
      const workers = page.workers().length;
      console.log(`     JS heap ${(before / 1e6).toFixed(1)} MB -> ${(after / 1e6).toFixed(1)} MB; workers alive: ${workers}`);
      assert(growth < 5, `the heap grew by ${growth.toFixed(1)} MB`);
      assert(workers === 1, `one worker, got ${workers}`);
      // It still trains.
      await p.trainFor(10);
    },
  },
  {
    name: 'every control is labelled and reachable by keyboard; the layout fits a tablet',
    slug: 'a11y',
    viewport: { width: 820, height: 1180 },
    async run({ page, base, shots }) {
      const p = new PlaygroundPage(page, base);
      await p.open();
      const unlabelled = await page.$$eval('input, select, button', (els) =>
        els.filter((el) => !(el.labels?.length || el.getAttribute('aria-label') || el.textContent.trim())).map((el) => el.outerHTML),
      );
      assert(unlabelled.length === 0, `unlabelled controls: ${unlabelled}`);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert(overflow <= 0, `horizontal overflow on a tablet: ${overflow}px`);
      // Keyboard only: focus the model select, pick PLE with the arrow keys, start with Space.
      await p.id('model-select').focus();
      await page.keyboard.press('End');
      await page.keyboard.press('ArrowUp');
      await p.waitReady();
      const model = await p.id('model-select').inputValue();
      assert(model === 'ple', `keyboard picked ${model}`);
      await p.id('train-toggle').focus();
      await page.keyboard.press('Space');
      await page.waitForFunction(() => /Step [1-9]/.test(document.querySelector('[data-testid=step-counter]').textContent), null, { timeout: 30_000 });
      await page.keyboard.press('Space');
      await p.screenshot(shots, 'tablet');
    },
  },
  {
    name: 'WebGPU: Auto times both devices on the software adapter and picks the faster, saying both rates; a failed WebGPU worker falls back to the CPU',
    slug: 'webgpu-fallback',
    browserArgs: ['--enable-unsafe-webgpu'],
    async run({ page, base, shots }) {
      const p = new PlaygroundPage(page, base);
      // Every worker the page starts, and when each is terminated.
      const closed = [];
      page.on('worker', (w) => closed.push(new Promise((resolve) => w.once('close', resolve))));
      await p.open();
      // Auto times the setup on the CPU and on WebGPU, each in a worker of its own, while the
      // CPU worker builds the learner's model; then it says both rates and keeps the faster.
      const said = await p.id('device-status').textContent();
      assert(/timing the CPU and WebGPU \(.*a software adapter\)/.test(said) || /Auto timed/.test(said), `Auto says it times: ${said}`);
      await page.waitForFunction(() => /Auto timed this setup/.test(document.querySelector('[data-testid=device-status]')?.textContent || ''), null, { timeout: 90_000 });
      const status = await p.id('device-status').textContent();
      console.log(`    ${status.trim()}`);
      assert(/Device: CPU/.test(status) && /WebGPU (under )?[\d.]+k? samples\/s.*, CPU [\d.]+k? samples\/s: using the CPU\./.test(status), `Auto on SwiftShader picks the CPU, with both rates: ${status}`);
      // The two timing workers go; the learner's one stays.
      await Promise.all(closed.slice(1, 3));
      assert(closed.length === 3 && page.workers().length === 1, `workers: ${closed.length} started, ${page.workers().length} left`);
      // Make the WebGPU worker's wasm fail to load, as a broken GPU stack would.
      await page.route('**/worker_gpu_bg*.wasm', (route) => route.abort());
      await page.selectOption('#device', 'webgpu');
      await page.waitForFunction(
        () => /WebGPU failed/.test(document.querySelector('[data-testid=notices]')?.textContent || ''),
        null,
        { timeout: 60_000 },
      );
      await p.waitReady();
      const after = await p.id('device-status').textContent();
      assert(/CPU/.test(after) && /fallback/i.test(after), `fell back: ${after}`);
      await p.trainFor(20);
      await p.screenshot(shots, 'webgpu-fallback');
    },
  },
  {
    name: 'the shipped WebGPU worker starts on the software adapter and trains a step',
    slug: 'webgpu-step',
    browserArgs: ['--enable-unsafe-webgpu'],
    async run({ page, base, shots }) {
      const p = new PlaygroundPage(page, base);
      // A small MMoE: SwiftShader runs WebGPU on the CPU, slowly, and compiles every kernel once.
      await p.open('?model=mmoe&experts=2&expert_units=8&tower_units=4&batch=64');
      await page.selectOption('#device', 'webgpu');
      await page.waitForFunction(
        () => /Device: WebGPU/.test(document.querySelector('[data-testid=device-status]')?.textContent || ''),
        null,
        { timeout: 60_000 },
      );
      await p.waitReady(120_000);
      await p.id('step').click();
      await page.waitForFunction(
        () => /Step 1\b/.test(document.querySelector('[data-testid=step-counter]')?.textContent || ''),
        null,
        { timeout: 120_000 },
      );
      const status = await p.id('device-status').textContent();
      const notices = await p.id('notices').count() ? await p.id('notices').textContent() : '';
      assert(!/WebGPU failed/.test(notices), `no fallback: ${notices}`);
      const validLoss = await page.$$eval('[data-testid=metrics-table] tbody tr', (rows) =>
        rows.map((r) => Number(r.querySelectorAll('td')[1]?.textContent)),
      );
      console.log(`     ${status.trim()}; validation loss after one step: ${validLoss.join(', ')}`);
      assert(validLoss.length === 2 && validLoss.every((l) => l > 0 && l < 2), `validation loss on WebGPU: ${validLoss}`);
      await p.screenshot(shots, 'webgpu-step');
    },
  },
  {
    name: 'a shared URL reproduces its setup, and hostile values are clamped and reported as text',
    slug: 'shared-url',
    async run({ page, base, shots }) {
      const p = new PlaygroundPage(page, base);
      await p.open('?model=ple&levels=3&specific=2&shared=3&expert_units=24%2C12&lr=0.005&seed=99&relationship=0&epochs=2');
      assert((await p.id('model-select').inputValue()) === 'ple', 'model from the URL');
      assert((await page.inputValue('#levels')) === '3', 'levels from the URL');
      assert((await page.inputValue('#specific')) === '2', 'specific experts from the URL');
      assert((await page.inputValue('#expert-units')) === '24,12', 'expert layers from the URL');
      assert((await page.inputValue('#seed')) === '99', 'seed from the URL');
      assert(!(await page.isChecked('#relationship')), 'relationship off from the URL');
      const rows = await p.gateRows();
      assert(rows.length === 3 * 2 + 2, `PLE with 3 levels has 8 gates: ${rows.length}`);
      // The model the worker built reads 12 fields: relationship is left out.
      const inputs = await p.id('input-fields').textContent();
      assert(/^Inputs every part reads \(12: 6 categorical, 6 numeric\)/.test(inputs) && !/relationship/.test(inputs), `inputs: ${inputs}`);
      assert((await page.locator('[data-testid=input-fields] li.proxy').count()) === 0, 'no proxy left among the inputs');
      // The address bar follows the controls.
      await page.fill('#seed', '5');
      await page.locator('#seed').blur();
      await page.waitForFunction(() => /seed=5(&|$)/.test(location.search));
      // Hostile values: clamped, reported, never run as markup.
      await p.open('?model=mmoe&experts=500&tower_units=%3Cimg%20src=x%20onerror=window.__pwned=1%3E&lr=abc&%3Cb%3Ebold%3C/b%3E=1');
      assert((await page.inputValue('#experts')) === '16', 'experts clamped');
      const notices = await p.id('notices').textContent();
      assert(/experts must be between/.test(notices) && /tower_units/.test(notices) && /is not a setting/.test(notices), `notices: ${notices}`);
      assert((await page.evaluate(() => window.__pwned)) === undefined, 'nothing from the URL ran');
      assert((await page.locator('[data-testid=notices] img, [data-testid=notices] b').count()) === 0, 'no markup injected');
      await p.screenshot(shots, 'shared-url');
    },
  },
  {
    name: 'the correlated tasks: the data-set selector, the p slider, the achieved correlation, and every offered model trains',
    slug: 'correlated',
    async run({ page, base, shots }) {
      const p = new PlaygroundPage(page, base);
      await p.open();
      await p.id('dataset-select').selectOption('correlated');
      await p.waitReady();
      assert(/data=correlated/.test(await page.evaluate(() => location.search)), 'the URL carries the data set');
      assert(!(await page.locator('#relationship').count()), 'relationship is an Adult field');
      const models = await page.$$eval('[data-testid=model-select] option', (os) => os.map((o) => o.value));
      assert(!models.includes('esmm') && models.includes('mmoe'), `ESMM needs a funnel: ${models}`);
      const achieved = async () => Number(/achieved: (-?[\d.]+)/.exec(await p.id('label-correlation').textContent())?.[1]);
      const atHalf = await achieved();
      assert(atHalf > 0.2 && atHalf < 0.5, `label correlation at p = 0.5: ${atHalf}`);
      // The slider: p = 1 is one task twice.
      await p.id('correlation').evaluate((el) => { el.value = '1'; el.dispatchEvent(new Event('change', { bubbles: true })); });
      await page.waitForFunction(() => /p=1(&|$)/.test(location.search));
      await page.waitForFunction(() => /achieved: 1\.00/.test(document.querySelector('[data-testid=label-correlation]')?.textContent || ''));
      await p.waitReady();
      // Every offered model trains, and the table shows R² and MSE for the regression tasks.
      for (const model of models) {
        await p.selectModel(model);
        await p.trainFor(40);
        const rows = await p.metrics();
        assert(rows.length === 2 && rows.every((r) => r.task === 'y1' || r.task === 'y2'), `${model}: tasks ${JSON.stringify(rows)}`);
        for (const r of rows) assert(Number.isFinite(r.validAuc) && r.validAuc < 1, `${model} ${r.task}: validation R² ${r.validAuc}`);
      }
      // A link reproduces it.
      await p.open('?data=correlated&p=0&model=ple&levels=3');
      assert((await p.id('correlation').inputValue()) === '0', 'p from the URL');
      assert((await p.gateRows()).length === 8, 'PLE with 3 levels on the correlated tasks');
      const atZero = await achieved();
      assert(Math.abs(atZero) < 0.1, `label correlation at p = 0: ${atZero}`);
      await p.screenshot(shots, 'correlated');
    },
  },
  {
    name: 'the funnel: ESMM against the naive CVR model, CVR scored over every impression, a whole run timed',
    slug: 'funnel',
    async run({ page, base, shots }) {
      const p = new PlaygroundPage(page, base);
      await p.open();
      await p.click('clear-runs');
      // Every status line the worker posts, to read how long drawing the funnel took in wasm.
      await page.evaluate(() => {
        window.statuses = [];
        const status = document.querySelector('[data-testid=run-status]');
        new MutationObserver(() => window.statuses.push(status.textContent)).observe(status, { childList: true, subtree: true, characterData: true });
      });
      await p.id('dataset-select').selectOption('funnel');
      await p.waitReady();
      const drew = (await page.evaluate(() => window.statuses)).find((t) => /Drew/.test(t));
      const drawn = /Drew (\d+) impressions of the funnel in (\d+) ms/.exec(drew || '');
      assert(drawn && Number(drawn[1]) === 20000, `the worker says what it drew: ${drew}`);
      console.log(`    funnel: drew ${drawn[1]} impressions in ${drawn[2]} ms in the CPU worker`);
      assert(/data=funnel/.test(await page.evaluate(() => location.search)), 'the URL carries the data set');
      assert(!(await page.locator('#relationship').count()) && !(await p.id('correlation').count()), 'no Adult or correlated fields');
      assert(await page.locator('#embedding').count(), 'the item id has an embedding width');
      const models = await page.$$eval('[data-testid=model-select] option', (os) => os.map((o) => o.value));
      assert(models.includes('naive_cvr') && models.includes('esmm') && models.includes('mmoe'), `funnel models: ${models}`);
      // Every offered model trains on the funnel's two tasks; the two with a CVR head are also
      // scored on the clicked impressions and on every impression.
      for (const model of models) {
        await p.selectModel(model);
        await p.trainFor(30);
        const rows = await p.metrics();
        const tasks = rows.map((r) => r.task);
        assert(tasks[0] === 'ctr' && tasks[1] === 'ctcvr', `${model}: tasks ${tasks}`);
        const cvr = ['esmm', 'naive_cvr', 'ipw_cvr'].includes(model);
        assert(tasks.includes('cvr (every impression)') === cvr && tasks.includes('cvr (on the clicked impressions)') === cvr, `${model}: rows ${tasks}`);
        for (const r of rows) assert(r.testAuc > 0 && r.testAuc < 1, `${model} ${r.task}: test AUC ${r.testAuc}`);
        // The CVR head's validation AUC over every impression is a curve beside the tasks'.
        const curves = await page.$$eval('[data-testid=metric-chart] .legend', (ls) => ls.map((l) => l.textContent).join(' '));
        const lines = await p.linePoints('metric-chart');
        assert(lines.length === (cvr ? 3 : 2) && lines.every((n) => n >= 1) && /cvr \(every impression\)/.test(curves) === cvr, `${model}: validation curves ${lines}, ${curves}`);
        const chartText = await p.id('metric-chart').textContent();
        assert(/Validation AUC/.test(chartText) && !/R²/.test(chartText), `${model}: the chart says AUC, not R²: ${chartText}`);
      }
      // A whole run of the naive model and of ESMM, timed from Play to its end (the budget, or
      // an early stop).
      for (const model of ['naive_cvr', 'esmm']) {
        await p.open(`?data=funnel&model=${model}&seed=7`);
        assert((await p.id('model-select').inputValue()) === model, `${model} from the URL`);
        const started = Date.now();
        await p.play();
        await page.waitForFunction(
          () => /Finished 10 epochs|Stopped early/.test(document.querySelector('[data-testid=run-status]')?.textContent || '')
            && /Test scores at step/.test(document.querySelector('[data-testid=metrics-table]')?.parentElement?.textContent || ''),
          null,
          { timeout: 120_000 },
        );
        const seconds = (Date.now() - started) / 1000;
        const ended = await p.id('run-status').textContent();
        console.log(`    funnel: a whole ${model} run took ${seconds.toFixed(1)} s on the CPU worker (${await p.id('step-counter').textContent()}; ${ended.trim()})`);
        const hint = await p.id('metrics-table').locator('xpath=..').textContent();
        assert(/true pCVR: the CVR head's squared error against it is 0\.\d+/.test(hint), `the MSE against the true pCVR: ${hint}`);
      }
      // The hidden factor k: a funnel field, kept in the URL, its own draw, said in the run.
      await p.open('?data=funnel&model=esmm&confound=1.5&seed=7');
      assert((await page.inputValue('#confound')) === '1.5', `k from the URL: ${await page.inputValue('#confound')}`);
      await p.trainFor(30);
      const setups = await page.$$eval('[data-testid=runs-table] tbody td.setup', (tds) => tds.map((td) => td.textContent));
      assert(setups.some((t) => /funnel, hidden factor k = 1\.5/.test(t)), `the run says its hidden factor: ${setups}`);
      // One embedding table for both towers: the naive model's is off (a table per tower); on,
      // it has ESMM's parameter count, and the diagram draws one table.
      const params = async () => Number(/(\d+) parameters/.exec(await page.locator('.params').textContent())?.[1]);
      await p.selectModel('naive_cvr');
      assert(!(await page.isChecked('#shared-embedding')), 'the naive model has a table per tower');
      const own = await params();
      await page.check('#shared-embedding');
      await p.waitReady();
      assert(/shared_emb=1/.test(await page.evaluate(() => location.search)), 'the URL carries it');
      assert(own - (await params()) === 400 * 4, `one 400 × 4 table fewer: ${own} → ${await params()}`);
      await p.selectModel('esmm');
      // The runs table compares them on CVR over every impression.
      const cvrCells = await page.$$eval('[data-testid=runs-table] tbody td.cvr-auc', (tds) => tds.map((td) => td.textContent));
      // (models without a CVR head show a dash; the short runs of ESMM, naive and IPW CVR, the
      // two whole runs and the short ESMM run with a hidden factor, two numbers each).
      const scored = cvrCells.filter((t) => t !== '–');
      assert(scored.length === 6 && scored.every((t) => /^0\.\d{4} \/ 0\.\d{4}$/.test(t)), `CVR cells: ${cvrCells}`);
      await p.click('show-code');
      assert(/The funnel is synthetic/.test(await p.id('code').textContent()), 'Show code gives the generator');
      await p.screenshot(shots, 'funnel');
    },
  },
  {
    name: 'seed spread: three seeds of one setup trained side by side, their runs grouped with mean ± sd',
    slug: 'sweep',
    async run({ page, base, shots }) {
      const p = new PlaygroundPage(page, base);
      await p.open('?data=correlated&model=mmoe&seed=5');
      await p.click('clear-runs');
      // The sweep's count is the Seeds side by side setting: one control, and a sweep changes
      // no other behind the learner's back.
      assert(!(await page.locator('#seed-count').count()), 'one control for the number of seeds');
      await page.fill('#replicas', '3');
      await page.press('#replicas', 'Tab');
      await page.waitForFunction(() => /Train 3 seeds to the end/.test(document.querySelector('[data-testid=seed-repeat]').textContent));
      await p.waitReady();
      await p.id('seed-repeat').click();
      assert(/Training 3 seeds side by side \(5 to 7\)/.test(await p.id('sweep-status').textContent()), 'the sweep says what it trains');
      // While they train, each seed's loss is a faint line under the bold mean.
      await page.waitForFunction(() => document.querySelectorAll('[data-testid=loss-chart] polyline.replica').length === 12, null, { timeout: 60_000 });
      // It says it trains, and offers Pause: not "Ready … Press Play" while its steps go by.
      const status = await p.id('run-status').textContent();
      const button = await p.id('train-toggle').textContent();
      assert(/^Training/.test(status.trim()) && /Pause/.test(button), `while the sweep trains: "${status}", "${button}"`);
      assert(/mean of 3 seeds/.test(await page.locator('[data-testid=loss-chart] .legend').textContent()), 'the legend says the bold line is a mean');
      assert(/Seed 5's gates/.test(await p.id('gate-seed').textContent()), 'the gates are one seed\'s, and say whose');
      await page.waitForFunction(
        () => /5–7 \(3 runs\)/.test(document.querySelector('[data-testid=seed-spread]')?.textContent || ''),
        null,
        { timeout: 120_000 },
      );
      const runs = await page.$$eval('[data-testid=runs-table] tbody td.setup', (tds) => tds.map((td) => /seed (\d+)/.exec(td.textContent)?.[1]));
      assert(runs.join(',') === '5,6,7', `one finished run per seed: ${runs}`);
      const spread = await page.locator('[data-testid=seed-spread] td.spread').first().textContent();
      assert(/^y1 0\.\d{4} ± 0\.\d{4} · y2 0\.\d{4} ± 0\.\d{4}$/.test(spread), `mean ± sd per task: ${spread}`);
      assert(!(await p.id('sweep-status').count()), 'the sweep is over');
      // Its validation loss per task as a mean line with a ± 1 sd band.
      const bands = await page.locator('[data-testid=seed-band-chart] polygon.band').count();
      const means = await p.linePoints("seed-band-chart");
      assert(bands === 2 && means.length === 2 && means.every((n) => n >= 10), `two bands: ${bands}, means of ${means} points`);
      assert(/Trained 3 seeds side by side/.test(await p.id('notices').textContent()), 'and says so');
      // The URL holds the sweep: its first seed and how many, so it is reproducible.
      const search = await page.evaluate(() => location.search);
      assert(/seed=5/.test(search) && /seeds=3/.test(search), `the URL holds the seeds: ${search}`);
      // The sweep left the count where the learner set it.
      assert((await page.inputValue('#replicas')) === '3', 'the sweep changed no setting');
      // A second setup over the same seeds: the two sweeps are compared seed by seed, with an
      // interval, and their bands share one chart.
      await p.selectModel('shared_bottom');
      await p.id('seed-repeat').click();
      await page.waitForFunction(
        () => /seed by seed \(5–7\): Shared-Bottom − MMoE, test R²: y1 [+-]0\.\d{4} ± 0\.\d{4}/.test(document.querySelector('[data-testid=seed-spread-paired]')?.textContent || ''),
        null,
        { timeout: 120_000 },
      );
      console.log(`    ${await p.id('seed-spread-paired').textContent()}`);
      const twoBands = await page.locator('[data-testid=seed-band-chart] polygon.band').count();
      assert(twoBands === 4, `two sweeps' bands in one chart: ${twoBands}`);
      const rows = await page.$$eval('[data-testid=seed-spread] tbody td.setup', (tds) => tds.map((td) => td.textContent));
      assert(rows.length === 2 && rows.every((r) => /correlated tasks, p = 0.5/.test(r)), `each row says its data: ${rows}`);
      await p.screenshot(shots, 'sweep');
      // CGC over three seeds: its gates' share on the shared experts comes over every seed,
      // mean ± sd (a share, unlike a weight per expert, means the same in every seed).
      await p.selectModel('cgc');
      await p.id('seed-repeat').click();
      await p.tab('gates');
      await page.waitForFunction(() => {
        const shares = [...document.querySelectorAll('[data-testid=gate-share]')].map((e) => e.textContent);
        return shares.length === 2 && shares.every((t) => /^\d+% ± \d+$/.test(t));
      }, null, { timeout: 60_000 });
      assert(/mean ± sd over all 3 seeds/.test(await p.id('gate-seed').textContent()), 'the heatmap says the share is over the seeds');
      console.log(`    CGC's shared share over 3 seeds: ${await page.$$eval('[data-testid=gate-share]', (e) => e.map((x) => x.textContent).join(', '))}`);
    },
  },
  {
    name: 'the task-gradient conflict meter: measured where tasks share, higher when they agree',
    slug: 'conflict',
    async run({ page, base, shots }) {
      const p = new PlaygroundPage(page, base);
      const meanCosine = async () => {
        const text = await p.id('grad-conflict-summary').textContent();
        const m = /mean over the run (-?[\d.]+) \((\d+) measurements\)/.exec(text);
        assert(m, `a summary: ${text}`);
        return { mean: Number(m[1]), n: Number(m[2]) };
      };
      const run = async (p1) => {
        await p.open(`?data=correlated&model=shared_bottom&p=${p1}&epochs=10`);
        await p.trainFor(600);
        const points = await p.linePoints('grad-conflict-chart');
        const summary = await meanCosine();
        assert(points[0] >= 20 && summary.n === points[0], `a point every 25 steps: ${points} / ${summary.n}`);
        return summary.mean;
      };
      const agree = await run(1);
      await p.screenshot(shots, 'conflict');
      const apart = await run(0);
      console.log(`    gradient cosine, Shared-Bottom, seed 1: mean ${agree} at p = 1, ${apart} at p = 0`);
      assert(agree > apart + 0.2, `the tasks agree more at p = 1 (${agree}) than at p = 0 (${apart})`);
      // Two networks that share nothing have nothing to measure, and say so.
      await p.selectModel('single_task');
      assert(/share no parameter/.test(await p.id('grad-conflict').textContent()), 'single-task shares nothing');
    },
  },
  {
    name: 'each guided lesson loads its setup and runs',
    slug: 'lessons',
    async run({ page, base, shots }) {
      const p = new PlaygroundPage(page, base);
      await page.setViewportSize({ width: 1366, height: 768 });
      await p.open();
      const buttons = await page.$$eval('[data-testid^=lesson-]', (bs) => bs.filter((b) => b.tagName === 'BUTTON' && !b.dataset.testid.startsWith('lesson-race-')).map((b) => b.dataset.testid));
      assert(buttons.length >= 6, `lesson steps: ${buttons}`);
      const expected = { 'lesson-0-0': 'shared_bottom', 'lesson-0-1': 'mmoe', 'lesson-1-0': 'ple', 'lesson-2-0': 'esmm', 'lesson-3-1': 'mmoe', 'lesson-7-0': 'naive_cvr', 'lesson-7-1': 'esmm', 'lesson-5-1': 'omoe' };
      for (const id of buttons) {
        await p.click(id);
        // A step over several seeds (20 on synthetic data) starts a seed sweep at once; the
        // others train at once too.
        const sweeping = (await p.id('sweep-status').count()) > 0;
        const text = await p.id('lesson-text').textContent();
        assert(text.length > 40, `${id} says what to look for`);
        if (expected[id]) { const got = await p.id("model-select").inputValue(); assert(got === expected[id], `${id} sets up ${expected[id]}, got ${got}: ${await page.evaluate(() => location.search)}`); }
        if (id === 'lesson-3-1') assert(!(await page.isChecked('#relationship')), 'the leak lesson turns relationship off');
        if (sweeping) {
          assert(/20 seeds/.test(await page.locator('.lesson-title').nth(Number(id.split('-')[1])).textContent()), `${id}: a twenty-seed step says so`);
          assert(/Training 20 seeds side by side/.test(await p.id('sweep-status').textContent()), `${id} starts a sweep`);
          // Pausing stops the sweep, and says so.
          await page.waitForFunction(() => Number(/Step (\d+)/.exec(document.querySelector('[data-testid=step-counter]')?.textContent || '')?.[1] || 0) >= 40);
          await p.pauseIfRunning();
          await page.waitForFunction(() => !document.querySelector('[data-testid=sweep-status]'));
        } else {
          await p.waitTested();
          // The result sentence is the run just made: its own test AUC per task.
          const result = await p.id('lesson-result').textContent();
          for (const r of (await p.metrics()).filter((r) => !r.task.startsWith('cvr'))) {
            assert(result.includes(`${r.task} ${r.testAuc.toFixed(4)}`), `${id}: the result states this run's ${r.task} ${r.testAuc}: ${result}`);
          }
          if (id === 'lesson-0-1') assert(/Against your Shared-Bottom \(42110 parameters, 3\.9× MMoE's 10702: the comparison is not at equal size\): income [+-]0\.\d{4}/.test(result), `the comparison says the sizes differ: ${result}`);
        }
        // The step scrolled its card to just below the sticky run bar, and the bar has not
        // grown over its heading since (a sweep's line, the replay row after the run).
        const [head, barEnd] = await page.evaluate(() => [document.querySelector('#lesson-card-title').getBoundingClientRect().top, document.querySelector('.runbar').getBoundingClientRect().bottom]);
        assert(head >= barEnd - 1, `${id}: the lesson's heading at ${head.toFixed(0)} px, under the run bar (it ends at ${barEnd.toFixed(0)} px)`);
        // The view the step is about is named and outlined (the seed spread once it exists).
        const watch = await p.id('lesson-watch').textContent();
        if (!/seed spread/.test(watch)) {
          await page.waitForFunction(() => document.querySelectorAll('.lesson-watch').length === 1);
          // "Show me" brings the outlined panel, its heading too, into view below the sticky
          // run bar, not under it.
          await page.locator('[data-testid=lesson-watch] button').click();
          await page.waitForFunction(() => {
            const panel = document.querySelector('.lesson-watch').getBoundingClientRect();
            const bar = document.querySelector('.runbar').getBoundingClientRect();
            // Below the bar, its heading in view (the page may end before the panel could
            // rise higher).
            return panel.top >= bar.bottom - 1 && panel.top < window.innerHeight - 80;
          }, null, { timeout: 5_000 }).catch(async () => {
            const at = await page.evaluate(() => [document.querySelector('.lesson-watch').getBoundingClientRect().top, document.querySelector('.runbar').getBoundingClientRect().bottom]);
            throw new Error(`${id}: "Show me" left the panel at ${at[0]} px, the run bar ends at ${at[1]} px`);
          });
        }
        // Play stays on screen whichever step the learner is on.
        const play = await p.id('train-toggle').boundingBox();
        const height = await page.evaluate(() => window.innerHeight);
        assert(play && play.y >= 0 && play.y + play.height <= height, `${id}: Play on screen (${JSON.stringify(play)})`);
      }
      await p.screenshot(shots, 'lessons');
    },
  },
  {
    name: 'one screen: the data, the model and the curves in view together while training, on each data set',
    slug: 'one-screen',
    async run({ page, base, shots }) {
      const p = new PlaygroundPage(page, base);
      const sets = [
        ['adult', '?model=mmoe', async () => assert((await page.locator('[data-testid=data-view] svg rect').count()) === 4, 'Adult: a 2 × 2 mosaic')],
        ['correlated', '?data=correlated&model=mmoe', async () => assert((await page.locator('[data-testid=data-view] svg circle').count()) >= 100, 'the correlated tasks: a scatter')],
        ['funnel', '?data=funnel&model=esmm', async () => assert(/of clicks convert/.test(await p.id('data-caption').textContent()), 'the funnel: its stages')],
      ];
      for (const [w, h, ids] of [[1366, 768, ['data-view', 'architecture', 'conflict-meter', 'loss-chart', 'metric-chart']], [390, 844, ['data-view', 'architecture', 'conflict-meter']]]) {
        await page.setViewportSize({ width: w, height: h });
        for (const [name, query, check] of sets) {
          await p.open(query);
          // The way in, on the first screen.
          assert(/^New here\? Start lesson 1: [A-Z]/.test(await p.id('start-here').textContent()), 'the first lesson, named once');
      const start = await p.id('start-here').boundingBox();
          assert(start && start.y + start.height <= h, `${name} ${w}: "Start lesson 1" on the first screen`);
          await check();
          await p.id('pace').selectOption('20');
          await p.play();
          await page.waitForFunction(() => Number(/Step (\d+)/.exec(document.querySelector('[data-testid=step-counter]').textContent)?.[1] || 0) >= 30 && document.querySelector('[data-testid=loss-chart] polyline.series'));
          const boxes = await p.stageInView(ids);
          // On a phone the loss chart's plot must be in view too (its legend may run on).
          const plot = await page.evaluate(() => { const r = document.querySelector('[data-testid=loss-chart] svg').getBoundingClientRect(); return r.bottom <= window.innerHeight; });
          console.log(`    ${w}×${h} ${name}: ${Object.entries(boxes).map(([k, v]) => `${k} ${v.top}–${v.bottom}`).join(', ')}`);
          const out = Object.entries(boxes).filter(([, v]) => !v.inView).map(([k]) => k);
          assert(out.length === 0 && plot, `${w}×${h} ${name}: out of view while training: ${out}${plot ? '' : ' loss-chart plot'}`);
          await page.screenshot({ path: join(shots, `one-screen-${name}-${w}.png`) });
          await p.pauseIfRunning();
        }
      }
      // One click from the first screen to a lesson's first step, and it trains: even clicked
      // as soon as the page shows it, before the worker is up.
      await page.setViewportSize({ width: 1366, height: 768 });
      await page.goto(base);
      await p.id('start-here').click();
      await page.waitForFunction(() => /Lesson 1\./.test(document.querySelector('[data-testid=lesson-step]')?.textContent || ''));
      assert(/Step 1 of/.test(await p.id('lesson-step').textContent()), 'the first step');
      await page.waitForFunction(() => Number(/Step (\d+)/.exec(document.querySelector('[data-testid=step-counter]').textContent)?.[1] || 0) > 0, null, { timeout: 30_000 })
        .catch(async () => { throw new Error(`the first step never trained: ${await p.id('run-status').textContent()}`); });
    },
  },
  {
    name: 'the page stays short: after lessons 5 and 8, every step and race run, under 2.5 screens',
    slug: 'page-height',
    async run({ page, base, shots }) {
      const p = new PlaygroundPage(page, base);
      await page.setViewportSize({ width: 1366, height: 768 });
      await p.open();
      for (const l of [4, 7]) {
        const steps = await page.locator(`[data-testid^=lesson-${l}-]`).count();
        for (let s = 0; s < steps; s += 1) {
          await p.tab('lessons');
          await p.id(`lesson-${l}-${s}`).click();
          // A step starts afresh: the previous lesson's race verdict is not left in the notices.
          const said = (await p.id('notices').count()) ? await p.id('notices').textContent() : '';
          assert(!/Race over/.test(said), `lesson ${l + 1} step ${s + 1} still shows: ${said}`);
          // Each step trains by itself: a sweep until its status goes, one seed until tested.
          if ((await p.id('sweep-status').count()) > 0) {
            await page.waitForFunction(() => !document.querySelector('[data-testid=sweep-status]'), null, { timeout: 180_000 });
          } else {
            await p.waitTested(180_000);
          }
          // A step after the first ends on both setups in one picture: the metric chart holds
          // the previous step's curves (its seeds' mean) beside this step's: each task's, and
          // on the funnel (lesson 8, CVR models only) the CVR head's, the lesson's subject.
          const names = await page.$$eval('[data-testid=metric-chart] polyline.series', (ls) => ls.map((x) => x.dataset.series));
          const before = names.filter((n) => /validation, step \d/.test(n));
          if (s === 0) {
            assert(before.length === 0, `a first step has no previous one: ${names}`);
          } else {
            const funnel = l === 7;
            assert(before.length === (funnel ? 3 : 2) && before.every((n) => n.endsWith(`validation, step ${s} (mean of 20 seeds)`)), `lesson ${l + 1} step ${s + 1}: ${names}`);
            if (funnel) assert(before.some((n) => n.startsWith('cvr (every impression) validation, step')), `the CVR curve of step ${s}: ${names}`);
          }
        }
        await p.tab('lessons');
        await p.id(`lesson-race-${l}`).click();
        await page.waitForFunction(() => /By validation loss/.test(document.querySelector('[data-testid=race-summary]')?.textContent || ''), null, { timeout: 180_000 });
        // Every tab open in turn: the page is as tall as the tallest.
        // The body's height, and how far the page scrolls: the document's, which also counts
        // what sits outside the body's flow (an absolutely placed element far down a tab).
        const heights = {};
        let body = 0;
        for (const key of ['lessons', 'scores', 'gates', 'conflict', 'race', 'figure', 'runs', 'code']) {
          await p.tab(key);
          const [b, d] = await page.evaluate(() => [document.body.scrollHeight, document.documentElement.scrollHeight]);
          body = Math.max(body, b);
          heights[key] = Math.max(b, d);
        }
        const tallest = Math.max(...Object.values(heights));
        const screens = tallest / 768;
        console.log(`    after lesson ${l + 1}: document.body.scrollHeight at most ${body} px, the page scrolls at most ${tallest} px over the tabs, ${screens.toFixed(2)} screens of 768 (${JSON.stringify(heights)})`);
        assert(screens < 2.5, `after lesson ${l + 1} the page is ${screens.toFixed(2)} screens tall`);
      }
      await p.screenshot(shots, 'page-height');
    },
  },
  {
    name: 'a pace to watch, a replay after the run, and the keyboard: skip link and shortcuts',
    slug: 'pace-replay-keys',
    async run({ page, base, shots }) {
      const p = new PlaygroundPage(page, base);
      await p.open('?model=mmoe&epochs=1');
      // The skip link is the first Tab stop and lands on the run bar.
      await page.keyboard.press('Tab');
      assert((await page.evaluate(() => document.activeElement?.dataset.testid)) === 'skip-to-toolbar', 'the skip link comes first');
      await page.keyboard.press('Enter');
      await page.waitForFunction(() => document.activeElement?.id === 'toolbar');
      assert(/Space play \/ pause · S one step · F finish and test · R reset/.test(await p.id('shortcuts').textContent()), 'the shortcuts are listed');
      // At 20 steps a second, 20 steps take about a second (at full speed, a few dozen ms).
      await p.id('pace').selectOption('20');
      await page.evaluate(() => document.activeElement?.blur());
      await page.keyboard.press('Space');
      await page.waitForFunction(() => Number(/Step (\d+)/.exec(document.querySelector('[data-testid=step-counter]').textContent)?.[1]) >= 4);
      const s0 = await p.step();
      const t0 = Date.now();
      await page.waitForFunction((n) => Number(/Step (\d+)/.exec(document.querySelector('[data-testid=step-counter]').textContent)?.[1]) >= n + 20, s0);
      const seconds = (Date.now() - t0) / 1000;
      console.log(`    pace 20 steps/s: 20 steps in ${seconds.toFixed(2)} s`);
      assert(seconds > 0.6, `20 steps at 20 steps/s took ${seconds} s`);
      // The rate shown is the paced one: 20 steps of 256 a second, not the computing speed.
      const rate = Number(/(\d+) samples\/s/.exec(await p.id('throughput').textContent())?.[1]);
      console.log(`    pace 20 steps/s: the bar shows ${rate} samples/s`);
      assert(rate > 0 && rate <= 20 * 256 * 1.25, `at 20 steps/s of 256 the bar shows ${rate} samples/s`);
      // Space again pauses; a key typed into a field is not a shortcut.
      await page.keyboard.press('Space');
      await page.waitForFunction(() => /^Paused/.test(document.querySelector('[data-testid=run-status]').textContent));
      const paused = await p.step();
      await page.focus('#seed');
      await page.keyboard.press('s');
      await page.locator('#seed').blur();
      assert((await p.step()) === paused, 'S typed in a field trains nothing');
      await page.keyboard.press('s');
      await page.waitForFunction((n) => document.querySelector('[data-testid=step-counter]').textContent.includes(`Step ${n + 1} `), paused);
      // F ends the run; the replay then scrubs back through it.
      await p.id('pace').selectOption('full');
      await page.evaluate(() => document.activeElement?.blur());
      await page.keyboard.press('f');
      await page.waitForFunction(() => /Test scores at step/.test(document.querySelector('[data-testid=metrics-table]')?.parentElement?.textContent || ''));
      const full = await p.linePoints('loss-chart');
      const last = await p.step();
      await p.id('replay').fill(String(Math.floor(last / 2)));
      await page.waitForFunction(() => /Replay: step \d+/.test(document.querySelector('.replay')?.textContent || ''));
      const half = await p.linePoints('loss-chart');
      assert(half[0] < full[0] && half[0] > 0, `the replay shows the curves up to its step: ${half} of ${full}`);
      await p.screenshot(shots, 'replay');
      await p.id('replay-play').click();
      await page.waitForFunction(() => /Replay: step [0-9]/.test(document.querySelector('.replay')?.textContent || ''));
      await page.waitForFunction(() => (document.querySelector('.replay')?.textContent || '').trim() === 'Replay', null, { timeout: 15_000 });
      assert((await p.linePoints('loss-chart'))[0] === full[0], 'the replay ends on the whole run');
      // R resets: a new model (with the focus off the button just clicked, where a key is the
      // button's own).
      await page.evaluate(() => document.activeElement?.blur());
      await page.keyboard.press('r');
      await p.waitReady();
      assert((await p.step()) === 0, 'R resets');
    },
  },
  {
    name: 'a phone (390×844): nothing wider than the screen, Play on top, the settings in a drawer, a lesson step run by touch',
    slug: 'phone',
    async run({ page, base, shots }) {
      const p = new PlaygroundPage(page, base);
      await page.setViewportSize({ width: 390, height: 844 });
      await p.open('?model=mmoe&epochs=2');
      // Elements past the right edge, other than inside a box that scrolls or clips them, or
      // in the closed drawer.
      const overflowing = () => page.evaluate(() => {
        const vw = document.documentElement.clientWidth;
        const clipped = (e) => {
          for (let a = e.parentElement; a; a = a.parentElement) {
            const s = getComputedStyle(a);
            if (['auto', 'scroll', 'hidden'].includes(s.overflowX) || s.visibility === 'hidden') return true;
          }
          return getComputedStyle(e).visibility === 'hidden';
        };
        return [...document.querySelectorAll('body *')]
          .filter((e) => e.getBoundingClientRect().right > vw + 1 && !clipped(e))
          .map((e) => `${e.tagName}.${e.className}[${e.dataset.testid || e.id || ''}]`)
          .slice(0, 10);
      });
      assert((await page.evaluate(() => document.documentElement.scrollWidth)) <= 390, 'the page does not scroll sideways');
      const wide = await overflowing();
      assert(wide.length === 0, `wider than the screen: ${wide}`);
      const play = await p.id('train-toggle').boundingBox();
      assert(play && play.y < 200, `Play near the top: ${JSON.stringify(play)}`);
      // The sticky run bar keeps to a small share of the screen, and the gate heatmap fits
      // without a sideways scroll (its last expert was cut off).
      const barHeight = () => page.evaluate(() => document.querySelector('.runbar').getBoundingClientRect().height);
      const bar = await barHeight();
      console.log(`    phone: the run bar is ${bar.toFixed(0)} px of 844`);
      assert(bar <= 844 / 8, `the sticky run bar takes ${bar} px of 844`);
      await p.tab('gates');
      await page.waitForFunction(() => document.querySelectorAll('[data-testid=gate-heatmap] td .weight').length > 0);
      const heat = await page.evaluate(() => { const h = document.querySelector('[data-testid=gate-heatmap]'); return [h.scrollWidth, h.clientWidth]; });
      assert(heat[1] > 0, 'the heatmap is drawn');
      assert(heat[0] <= heat[1], `the gate heatmap is ${heat[0]} px wide in ${heat[1]} px`);
      // Chart text at least 11 px as drawn (the SVG is scaled to the screen).
      const tick = await page.evaluate(() => {
        const svg = document.querySelector('[data-testid=loss-chart] svg');
        const t = svg.querySelector('text.tick');
        return (parseFloat(getComputedStyle(t).fontSize) * svg.getBoundingClientRect().width) / 560;
      });
      assert(tick >= 11, `tick labels drawn at ${tick.toFixed(1)} px`);
      // The settings are a drawer: closed, then open over the page, and closed again.
      assert(!(await page.locator('#experts').isVisible()), 'the drawer starts closed');
      await p.id('settings-toggle').click();
      await page.waitForFunction(() => getComputedStyle(document.querySelector('#settings')).transform === 'none');
      await p.id('settings-close').click();
      await page.waitForFunction(() => getComputedStyle(document.querySelector('#settings')).visibility === 'hidden');
      // A lesson step from its tab, by touch.
      await p.tab('lessons');
      await p.click('lesson-0-0');
      // It trains by itself.
      await page.waitForFunction(() => /Your Shared-Bottom run/.test(document.querySelector('[data-testid=lesson-result]')?.textContent || ''), null, { timeout: 60_000 });
      const after = await overflowing();
      assert(after.length === 0, `after a run, wider than the screen: ${after}`);
      const box = await p.id('train-toggle').boundingBox();
      assert(box && box.y >= 0 && box.y < 200, `Play still on screen after the run: ${JSON.stringify(box)}`);
      const barAfter = await barHeight();
      console.log(`    phone: the run bar is ${barAfter.toFixed(0)} px of 844 after a run (replay shown)`);
      assert(barAfter <= 844 / 6, `after a run the sticky run bar takes ${barAfter} px of 844`);
      await page.screenshot({ path: join(shots, 'phone.png') });
      // A seed sweep started from the drawer closes it: the sweep is watched on the stage.
      await p.id('settings-toggle').click();
      await page.waitForFunction(() => getComputedStyle(document.querySelector('#settings')).transform === 'none');
      await p.id('seed-repeat').click();
      await page.waitForFunction(() => getComputedStyle(document.querySelector('#settings')).visibility === 'hidden', null, { timeout: 5_000 })
        .catch(() => { throw new Error('the drawer stays open over the sweep it started'); });
      await p.pauseIfRunning();
    },
  },
  {
    name: 'keyboard only: a whole lesson from Tab to its result, and the diagram is one Tab stop',
    slug: 'keyboard-lesson',
    async run({ page, base, shots }) {
      const p = new PlaygroundPage(page, base);
      await p.open();
      const focused = () => page.evaluate(() => document.activeElement?.dataset.testid || document.activeElement?.id || document.activeElement?.tagName);
      let presses = 0;
      while ((await focused()) !== 'lesson-0-0' && presses < 200) {
        await page.keyboard.press('Tab');
        presses++;
      }
      assert((await focused()) === 'lesson-0-0', `Tab reaches the first lesson step (${presses} presses)`);
      console.log(`    keyboard: the first lesson step is Tab stop ${presses}`);
      await page.keyboard.press('Enter');
      await page.waitForFunction(() => document.activeElement?.dataset.testid === 'lesson-step');
      // The step trains by itself.
      await page.waitForFunction(() => /Your Shared-Bottom run/.test(document.querySelector('[data-testid=lesson-result]')?.textContent || ''), null, { timeout: 60_000 });
      // Tab, past "Show me", to the next step.
      for (let i = 0; i < 4 && (await focused()) !== 'lesson-next'; i++) await page.keyboard.press('Tab');
      assert((await focused()) === 'lesson-next', `Tab goes on to the next step: ${await focused()}`);
      await page.keyboard.press('Enter');
      await page.waitForFunction(() => document.activeElement?.dataset.testid === 'lesson-step' && /Step 2 of 2/.test(document.activeElement.textContent));
      await page.waitForFunction(() => /Your MMoE run.*Against your Shared-Bottom/.test(document.querySelector('[data-testid=lesson-result]')?.textContent || ''), null, { timeout: 60_000 });
      await p.screenshot(shots, 'keyboard-lesson');
      // The diagram: one Tab stop, then the arrow keys.
      const stops = await page.$$eval('[data-testid=architecture] .node', (ns) => ns.filter((n) => n.getAttribute('tabindex') === '0').length);
      assert(stops === 1, `the diagram is one Tab stop, not ${stops}`);
      await page.focus('[data-testid=architecture] .node[tabindex="0"]');
      await page.keyboard.press('ArrowRight');
      await page.keyboard.press('ArrowRight');
      assert((await focused()) === 'diagram-node-2', `the arrows move along the nodes: ${await focused()}`);
      assert((await p.id('node-inspector').textContent()).length > 5, 'the focused node is described');
    },
  },
  {
    name: 'an accessibility scan (axe-core) finds no serious or critical violation',
    slug: 'axe',
    async run({ page, base }) {
      const p = new PlaygroundPage(page, base);
      await p.open();
      await p.trainFor(30);
      await page.addScriptTag({ path: join(here, 'node_modules', 'axe-core', 'axe.min.js') });
      const results = await page.evaluate(async () => await window.axe.run(document));
      const bad = results.violations.filter((v) => ['serious', 'critical'].includes(v.impact));
      for (const v of results.violations) console.log(`    axe ${v.impact}: ${v.id} (${v.nodes.length}): ${v.help}`);
      // What axe could not decide (text over an SVG or a gradient, for contrast) needs a person.
      console.log(`    axe: ${results.passes.length} rules pass, ${results.violations.length} violated; left to review: ${results.incomplete.map((v) => `${v.id} (${v.nodes.length})`).join(', ') || 'none'}`);
      assert(bad.length === 0, `serious or critical: ${bad.map((v) => `${v.id} ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`).join('; ')}`);
    },
  },
  {
    name: 'race mode: Shared-Bottom against MMoE in two workers at once, both curves moving; the workers go when it ends',
    slug: 'race',
    async run({ page, base, shots }) {
      const p = new PlaygroundPage(page, base);
      await p.open('?model=shared_bottom&epochs=20');
      await p.click('clear-runs');
      const mainWorkers = page.workers().length;
      const laneSteps = () => page.$$eval('[data-testid=race-lane] [data-testid=step-counter]', (els) => els.map((e) => Number(/Step (\d+)/.exec(e.textContent)?.[1] || 0)));
      const laneStatus = () => page.$$eval('[data-testid=race-lane] .status', (els) => els.map((e) => e.textContent));
      // The race's workers, as they start; each resolves `closed` when it is terminated.
      const raceWorkers = [];
      page.on('worker', (w) => raceWorkers.push(new Promise((resolve) => w.once('close', resolve))));
      assert((await p.id('race-opponent').inputValue()) === 'mmoe', 'MMoE is the default opponent of Shared-Bottom');
      await p.click('race-start');
      await page.waitForFunction(() => document.querySelectorAll('[data-testid=race-lane]').length === 2);
      const titles = await page.$$eval('[data-testid=race-lane] h3', (hs) => hs.map((h) => h.textContent));
      assert(titles.join('|') === 'Lane 1: Shared-Bottom|Lane 2: MMoE', `lanes: ${titles}`);
      // Both lanes train at the same time: both counters move between two readings, and
      // neither lane has ended at the second.
      await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=race-lane] [data-testid=step-counter]')].every((e) => Number(/Step (\d+)/.exec(e.textContent)?.[1] || 0) >= 10));
      const first = await laneSteps();
      await page.waitForFunction((f) => [...document.querySelectorAll('[data-testid=race-lane] [data-testid=step-counter]')].every((e, i) => Number(/Step (\d+)/.exec(e.textContent)?.[1] || 0) > f[i] + 20), first);
      const statuses = await laneStatus();
      assert(statuses.every((s) => /Training/.test(s)), `both lanes still training: ${statuses}`);
      assert(page.workers().length === mainWorkers + 2, `one worker per lane: ${page.workers().length}`);
      console.log(`    race: lanes at steps ${first} then ${await laneSteps()}; rates ${await page.$$eval('[data-testid=lane-rate]', (e) => e.map((x) => x.textContent))}`);
      // Each task's validation curves of both lanes, overlaid.
      await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=race-auc-1] polyline.series')].filter((l) => (l.getAttribute('points') || '').trim().split(/\s+/).length >= 2).length === 2);
      assert((await p.linePoints('race-loss-2')).length === 2, 'both lanes in the task 2 loss overlay');
      // The gates side by side: MMoE's lane has two gates, Shared-Bottom's none.
      const gateRows = await page.$$eval('[data-testid=race-lane]', (lanes) => lanes.map((l) => l.querySelectorAll('.gate-mini tr').length));
      assert(gateRows.join(',') === '0,2', `gate rows per lane: ${gateRows}`);
      const gateNotes = await page.$$eval('[data-testid=race-lane] p.hint:not(.setup)', (ps) => ps.map((x) => x.textContent));
      assert(/^Shared-Bottom has no gates: every task reads the same bottom network/.test(gateNotes[0]) && /^Mean gate weight/.test(gateNotes[1]), `each lane says why it has gates or not: ${gateNotes}`);
      await p.screenshot(shots, 'race');
      // Stopping the race terminates both workers.
      await p.id('race-stop').click();
      await Promise.all(raceWorkers.splice(0));
      assert(page.workers().length === mainWorkers, `the race's workers are gone: ${page.workers().length}`);
      assert((await laneStatus()).every((s) => /Stopped with the race/.test(s)), 'the lanes say so');
      // Races that run to their end: each lane's run is kept, the result is said, the workers
      // go, and memory stays flat over repeated races.
      await p.open('?model=shared_bottom&epochs=1');
      raceWorkers.length = 0; // the new page's own worker is not the race's
      const heap = async () => {
        await page.evaluate(() => window.gc && window.gc());
        return page.evaluate(() => performance.memory.usedJSHeapSize);
      };
      let before = 0;
      for (let i = 0; i < 4; i++) {
        await p.click('race-start');
        await page.waitForFunction(() => /By validation loss/.test(document.querySelector('[data-testid=race-summary]')?.textContent || ''), null, { timeout: 120_000 });
        await Promise.all(raceWorkers.splice(0));
        assert(page.workers().length === mainWorkers, `race ${i + 1}: the workers are gone`);
        if (i === 0) before = await heap();
      }
      const growth = ((await heap()) - before) / 1e6;
      console.log(`    race: JS heap grew ${growth.toFixed(2)} MB over three more races`);
      assert(growth < 5, `the heap grew by ${growth.toFixed(1)} MB over three races`);
      const rows = await page.locator('[data-testid=runs-table] tbody tr').count();
      assert(rows === 8, `each lane's run kept: ${rows}`);
      // A race's lanes are two models, not one model's seeds: no seed-spread row.
      assert((await p.id('seed-spread').count()) === 0, `races made seed-spread rows: ${await page.locator('[data-testid=seed-spread]').textContent().catch(() => '')}`);
      const scores = await page.$$eval('[data-testid=lane-scores]', (e) => e.map((x) => x.textContent));
      assert(scores.every((s) => /Test \(final, step \d+\): income 0\.\d+, never_married 0\.\d+/.test(s)), `lane scores: ${scores}`);
      // From the history: two ticked runs race again.
      await p.tab('runs');
      await page.locator('[data-testid=runs-table] tbody input[type=checkbox]').nth(0).check();
      assert(await p.id('race-runs').isDisabled(), 'one ticked run is no race');
      await page.locator('[data-testid=runs-table] tbody input[type=checkbox]').nth(1).check();
      await p.click('race-runs');
      await page.waitForFunction(() => document.querySelectorAll('[data-testid=race-lane]').length === 2 && /Training|Building|Ready/.test(document.querySelector('[data-testid=race-lane] .status')?.textContent || ''));
      await p.id('race-stop').click();
      await Promise.all(raceWorkers.splice(0));
      // From a lesson: its two setups, in one click.
      await p.click('lesson-race-0');
      await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=race-lane] h3')].map((h) => h.textContent).join('|') === 'Lane 1: Shared-Bottom|Lane 2: MMoE');
      await p.id('race-stop').click();
      await Promise.all(raceWorkers.splice(0));
      assert(page.workers().length === mainWorkers, 'no race worker left behind');
    },
  },
  {
    name: 'the paper figure: three models over p in two workers, every point with its band, the CLI\'s numbers at the same seeds',
    slug: 'paper-figure',
    async run({ page, base, shots }) {
      const p = new PlaygroundPage(page, base);
      await p.open();
      const mainWorkers = page.workers().length;
      const figureWorkers = [];
      page.on('worker', (w) => figureWorkers.push(new Promise((resolve) => w.once('close', resolve))));
      await p.tab('figure');
      // Seeds outside 2-30 are clamped, and the panel says so.
      await p.id('figure-seeds').fill('99');
      await p.id('figure-seeds').press('Tab');
      assert((await p.id('figure-seeds').inputValue()) === '30', 'seeds clamped to 30');
      assert(/99 is outside 2–30: 30 seeds/.test(await p.id('paper-figure').textContent()), 'the clamp is said');
      // Two seeds keep the test short; the default grid (10 seeds) is timed by the benchmark.
      await p.id('figure-seeds').fill('2');
      await p.id('figure-seeds').press('Tab');
      const command = await p.id('figure-command').textContent();
      assert(command === 'mtl experiment correlation --seeds 2 --models shared_bottom,omoe,mmoe', `command: ${command}`);
      const t0 = Date.now();
      await p.id('figure-run').click();
      await page.waitForFunction(() => /^Training on 2 CPU workers/.test(document.querySelector('[data-testid=figure-status]').textContent));
      // Playwright hears of a worker a moment after it starts.
      while (figureWorkers.length < 2) await page.waitForEvent('worker');
      assert(page.workers().length === mainWorkers + 2, `two figure workers: ${page.workers().length - mainWorkers}`);
      // Points appear as jobs finish, before the whole figure is done.
      await page.waitForFunction(() => document.querySelectorAll('circle.figure-point').length > 0, null, { timeout: 120_000 });
      const early = await page.$$eval('circle.figure-point', (c) => c.length);
      const earlyStatus = await p.id('figure-status').textContent();
      await page.waitForFunction(() => /^Done/.test(document.querySelector('[data-testid=figure-status]').textContent), null, { timeout: 300_000 });
      const status = await p.id('figure-status').textContent();
      console.log(`    paper figure: ${status} (${((Date.now() - t0) / 1000).toFixed(1)} s from the click; points drawn at the first reading: ${early})`);
      assert(/^Training/.test(earlyStatus), `points are drawn while the rest trains: ${earlyStatus}`);
      assert((await p.id('figure-progress').evaluate((e) => e.value)) === 1, 'the progress bar is full');
      const points = await page.$$eval('circle.figure-point', (cs) => cs.map((c) => ({
        model: c.dataset.model, p: Number(c.dataset.p), n: Number(c.dataset.n),
        mean: Number(c.dataset.mean), lo: Number(c.dataset.lo), hi: Number(c.dataset.hi),
      })));
      const models = ['shared_bottom', 'omoe', 'mmoe'];
      for (const m of models) {
        for (const q of [1, 0.9, 0.5, 0]) {
          const pt = points.find((x) => x.model === m && x.p === q);
          assert(pt && pt.n === 2 && pt.lo < pt.mean && pt.mean < pt.hi, `${m} at p = ${q}: ${JSON.stringify(pt)}`);
        }
        const band = await page.$eval(`polygon.band[data-model=${m}]`, (b) => b.getAttribute('points').trim().split(/\s+/).length);
        assert(band === 8, `${m}'s band joins its four intervals: ${band} corners`);
      }
      assert(points.length === 12, `12 points: ${points.length}`);
      const pairs = await page.$$eval('[data-testid=figure-pairs] td', (tds) => tds.map((t) => t.textContent));
      assert(pairs.length === 8 && pairs.every((t) => /^[+-]0\.\d{4} ± 0\.\d{4}/.test(t)), `each model minus MMoE at each p: ${pairs}`);
      const changes = await page.$$eval('[data-testid=figure-changes] td', (tds) => tds.map((t) => t.textContent));
      assert(changes.length === 9 && changes.every((t) => /^[+-]0\.\d{4} ± 0\.\d{4}/.test(t)), `each model at p < 1 minus itself at p = 1: ${changes}`);
      // The same numbers natively, from the CLI at the same seeds.
      const { execFileSync } = await import('node:child_process');
      const target = process.env.CARGO_TARGET_DIR || join(process.env.HOME, '.cache/mtl-playground/target');
      const bin = process.env.MTL_BIN || join(target, 'debug', 'mtl');
      const out = execFileSync(bin, ['experiment', 'correlation', '--seeds', '2', '--models', models.join(','), '--json'], { encoding: 'utf8', maxBuffer: 1 << 24 });
      const cells = out.split('\n').filter((l) => l.includes('"event":"cell"')).map((l) => JSON.parse(l));
      // Wasm SIMD and the native CPU add floats in other orders, and 1,500 steps of Adam grow
      // those last-bit differences; what must hold is that they are far inside the seed noise.
      let worst = 0;
      let exact = 0;
      for (const pt of points) {
        const mine = cells.filter((c) => c.model === pt.model && c.p === pt.p);
        assert(mine.length === 2, `the CLI's ${pt.model} at p = ${pt.p}`);
        const mean = mine.reduce((a, c) => a + c.test_loss, 0) / mine.length;
        const diff = Math.abs(mean - pt.mean);
        if (diff < 1e-6) exact += 1;
        worst = Math.max(worst, diff / ((pt.hi - pt.lo) / 2));
        assert(diff < 1e-2 * mean && diff < (pt.hi - pt.lo) / 40, `${pt.model} at p = ${pt.p}: ${pt.mean} in the browser, ${mean} from the CLI`);
      }
      console.log(`    paper figure: against the CLI at the same seeds, ${exact} of 12 means equal to 1e-6; the largest difference is ${(worst * 100).toFixed(2)}% of its point's interval half-width`);
      await p.screenshot(shots, 'paper-figure');
      // The drawn panel passes the accessibility scan too (the page's own scan sees it closed).
      await page.addScriptTag({ path: join(here, 'node_modules', 'axe-core', 'axe.min.js') });
      const axe = await page.evaluate(async () => await window.axe.run(document.querySelector('[data-testid=paper-figure]')));
      const serious = axe.violations.filter((v) => ['serious', 'critical'].includes(v.impact));
      assert(serious.length === 0, `axe on the figure: ${serious.map((v) => `${v.id} ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`).join('; ')}`);
      await Promise.all(figureWorkers.splice(0));
      assert(page.workers().length === mainWorkers, 'the figure workers go when it is done');
      // Stop: the workers go at once, and the figure says where it stopped.
      await p.id('figure-run').click();
      await page.waitForFunction(() => document.querySelector('[data-testid=figure-progress]').value > 0);
      await p.id('figure-stop').click();
      await Promise.all(figureWorkers.splice(0));
      assert(page.workers().length === mainWorkers, 'Stop terminates the figure workers');
      const stopped = await p.id('figure-status').textContent();
      assert(/^Stopped after \d+ s with \d+ of 12 points/.test(stopped), `status after Stop: ${stopped}`);
    },
  },
  {
    name: 'race the ticked runs: runs trained on different data are not raced, and the page says why',
    slug: 'race-data',
    async run({ page, base, shots }) {
      // Two runs on the correlated tasks, one at p = 1 and one at p = 0: the same data set, but
      // not the same rows. A race ranks its lanes by validation loss, which compares nothing
      // across different rows, so the page refuses it and says which setting differs.
      const p = new PlaygroundPage(page, base);
      await p.open('?data=correlated&model=mmoe&p=1&epochs=1&seed=7');
      await p.click('clear-runs');
      await p.trainToEnd();
      await p.open('?data=correlated&model=shared_bottom&p=0&epochs=1&seed=7');
      await p.trainToEnd();
      const boxes = page.locator('[data-testid=runs-table] tbody input[type=checkbox]');
      assert((await boxes.count()) === 2, `two runs in the history: ${await boxes.count()}`);
      await p.tab('runs');
      await boxes.nth(0).check();
      await boxes.nth(1).check();
      await p.click('race-runs');
      await page.waitForTimeout(1000);
      const lanes = await page.locator('[data-testid=race-lane]').count();
      assert(lanes === 0, `a race of runs on different data started, ${lanes} lanes`);
      const said = await p.id('race-runs-status').textContent();
      assert(/same rows/.test(said) && /p = 1/.test(said) && /p = 0/.test(said), `the page says why: ${said}`);
      const notices = await p.id('notices').textContent();
      assert(/No race/.test(notices), `the notices say it too: ${notices}`);
      assert(page.workers().length === 1, `no race worker started: ${page.workers().length}`);
      await p.screenshot(shots, 'race-data');
    },
  },
  {
    name: 'selection by validation: Pause never scores the test set; Finish and test scores it once',
    slug: 'selection',
    async run({ page, base, shots }) {
      // Every message the page's workers send, by type, as the page receives them.
      await page.addInitScript(() => {
        window.workerMessages = [];
        const Native = window.Worker;
        window.Worker = class extends Native {
          constructor(...args) {
            super(...args);
            this.addEventListener('message', (e) => {
              const d = e.data;
              window.workerMessages.push(d instanceof Map ? d.get('type') : d && d.type);
            });
          }
        };
      });
      const p = new PlaygroundPage(page, base);
      await p.open('?model=mmoe&epochs=2');
      const count = (type) => page.evaluate((t) => window.workerMessages.filter((m) => m === t).length, type);
      const stepNow = async () => Number(/Step (\d+)/.exec(await p.id('step-counter').textContent())[1]);
      assert(await p.id('finish-test').isDisabled(), 'nothing to test before a step');
      // The inputs on screen: relationship marked as a proxy for never-married.
      const proxy = await page.locator('[data-testid=input-fields] li.proxy').allTextContents();
      assert(proxy.length === 1 && /relationship ⚠ a proxy for never_married: alone it scores AUC 0\.9\d on validation/.test(proxy[0]), `proxy: ${proxy}`);
      await p.play();
      await page.waitForFunction(() => Number(/Step (\d+)/.exec(document.querySelector('[data-testid=step-counter]')?.textContent || '')?.[1] || 0) >= 60);
      await p.pauseIfRunning();
      await page.waitForFunction(() => /^Paused/.test(document.querySelector('[data-testid=run-status]')?.textContent || ''));
      // One more step: messages arrive in order, so a test sent on the pause would be in by now.
      const paused = await stepNow();
      await p.id('step').click();
      await page.waitForFunction((n) => document.querySelector('[data-testid=step-counter]')?.textContent.includes(`Step ${n + 1} `), paused);
      assert((await count('validation')) >= 2, 'validation points were scored');
      assert((await count('test')) === 0, `a pause scored the test set: ${await page.evaluate(() => window.workerMessages.join(','))}`);
      let hint = await p.id('metrics-table').locator('xpath=..').textContent();
      assert(/The test set is held out/.test(hint) && /Pause shows validation only/.test(hint), `before the end: ${hint}`);
      const testCells = await page.$$eval('[data-testid=metrics-table] td.test-auc', (tds) => tds.map((td) => td.textContent.trim()));
      assert(testCells.every((t) => t === '–'), `no test scores on pause: ${testCells}`);
      await p.id('finish-test').click();
      await page.waitForFunction(() => /Test scores at step/.test(document.querySelector('[data-testid=metrics-table]')?.parentElement?.textContent || ''));
      assert((await count('test')) === 1, 'one test per run');
      hint = await p.id('metrics-table').locator('xpath=..').textContent();
      const at = /Test scores at step (\d+)/.exec(hint);
      assert(at && Number(at[1]) <= paused + 1, `the tested weights are a validation point's: ${hint}`);
      assert(/Finished on request/.test(await p.id('run-status').textContent()), 'the status says how the run ended');
      assert(await p.id('train-toggle').isDisabled() && await p.id('finish-test').isDisabled() && await p.id('step').isDisabled(), 'a run that ended trains no further');
      const ranked = await page.$$eval('[data-testid=runs-table] tbody tr', (rows) => rows.map((r) => r.querySelector('td.valid-loss')?.textContent));
      assert(ranked.length === 1 && Number(ranked[0]) > 0, `the run is kept with its validation loss: ${ranked}`);
      await p.screenshot(shots, 'selection');
      // Early stopping and its patience are a field, live, in the URL.
      await page.fill('#patience', '1');
      await page.locator('#patience').blur();
      await page.waitForFunction(() => /patience=1/.test(location.search));
    },
  },
  {
    name: 'runs are kept and compared, and the exports download files that parse',
    slug: 'exports',
    async run({ page, base, shots }) {
      const p = new PlaygroundPage(page, base);
      await p.open('?model=mmoe&epochs=1');
      await p.click('clear-runs');
      await p.trainFor(40);
      await p.selectModel('shared_bottom');
      await p.trainFor(40);
      const rows = await page.locator('[data-testid=runs-table] tbody tr').count();
      assert(rows === 2, `two runs kept: ${rows}`);
      await p.tab('runs');
      await page.locator('[data-testid=runs-table] tbody input[type=checkbox]').nth(0).check();
      await page.locator('[data-testid=runs-table] tbody input[type=checkbox]').nth(1).check();
      const curves = await p.linePoints('compare-chart');
      assert(curves.length === 4, `overlaid curves: ${curves}`);
      assert((await p.linePoints('compare-auc-chart')).length === 4, 'and their validation AUC');
      // One colour per run, one dash per task.
      const looks = await page.$$eval('[data-testid=compare-chart] polyline.series', (ls) => ls.map((l) => `${l.getAttribute('stroke')}|${l.getAttribute('stroke-dasharray') || ''}`));
      assert(new Set(looks).size === 4 && new Set(looks.map((x) => x.split('|')[0])).size === 2, `run colours and task dashes: ${looks}`);
      const diff = await p.id('runs-difference').textContent();
      assert(/#\d .* minus #\d .*income: valid [+-]0\.\d{4}, test [+-]0\.\d{4}; never_married: valid [+-]0\.\d{4}/.test(diff), `difference: ${diff}`);
      const grabBytes = async (testid, keepAs) => {
        const [download] = await Promise.all([page.waitForEvent('download'), p.click(testid)]);
        const path = await download.path();
        if (keepAs) await download.saveAs(join(shots, keepAs));
        const { readFile } = await import('node:fs/promises');
        return { name: download.suggestedFilename(), bytes: await readFile(path) };
      };
      const grab = async (testid) => {
        const { name, bytes } = await grabBytes(testid);
        return { name, text: bytes.toString('utf8') };
      };
      const json = await grab('export-json');
      const parsed = JSON.parse(json.text);
      assert(parsed.runs.length === 2 && parsed.runs[0].tests.length === 2, `runs JSON: ${json.text.slice(0, 200)}`);
      const csv = await grab('export-csv');
      const lines = csv.text.trim().split('\n');
      const header = lines[0].split(',');
      assert(lines.length === 3 && header[0] === 'id' && ['p', 'c', 'noise', 'query', 'task1_auc'].every((h) => header.includes(h)), `CSV: ${csv.text.slice(0, 200)}`);
      const run = await grab('export-run');
      const one = JSON.parse(run.text);
      assert(one.experiment.model === 'shared_bottom' && one.test.tasks.length === 2, `run JSON: ${run.text.slice(0, 200)}`);
      // The trained model: a burnpack (magic "NRUB", version 1, CBOR metadata) that carries the
      // model's config, with at least 4 bytes per parameter. It is kept, and the test command
      // then scores it natively with `mtl eval`.
      const model = await grabBytes('export-model', 'downloaded-model.bpk');
      assert(/^mtl-shared_bottom-seed\d+-step\d+\.bpk$/.test(model.name), `model file name: ${model.name}`);
      assert(model.bytes.readUInt32LE(0) === 0x4255524e && model.bytes.readUInt16LE(4) === 1, 'burnpack header');
      const metaEnd = 10 + model.bytes.readUInt32LE(6);
      const meta = model.bytes.subarray(10, metaEnd).toString('latin1');
      assert(meta.includes('mtl-playground model v2') && meta.includes('"shared_bottom"'), `model metadata: ${meta.slice(0, 200)}`);
      assert(model.bytes.length >= 4 * one.params, `model file of ${model.bytes.length} bytes for ${one.params} parameters`);
      // The history survives a reload (localStorage), and a run of the next visit never
      // replaces one of the last, though the page's session numbers start at 1 again.
      const runLabels = () => page.$$eval('[data-testid=runs-table] tbody th', (ths) => ths.map((th) => th.textContent));
      await page.reload();
      await p.waitReady();
      assert((await page.locator('[data-testid=runs-table] tbody tr').count()) === 2, 'history restored after reload');
      await p.selectModel('mmoe');
      await p.trainFor(20);
      await page.reload();
      await p.waitReady();
      const labels = await runLabels();
      assert([...labels].sort().join('|') === '#1 MMoE|#2 Shared-Bottom|#3 MMoE', `every run kept over two reloads: ${labels}`);
      // Ranked by validation loss, never by test.
      const validLosses = await page.$$eval('[data-testid=runs-table] tbody td.valid-loss', (tds) => tds.map((td) => Number(td.textContent)));
      assert(validLosses.length === 3 && validLosses.every((v, i) => v > 0 && (i === 0 || v >= validLosses[i - 1])), `runs sorted by validation loss: ${validLosses}`);
      // Export, clear and import: the runs come back; importing the same file again adds none.
      const exported = await grabBytes('export-json', 'runs-export.json');
      await p.click('clear-runs');
      assert((await page.locator('[data-testid=runs-table] tbody tr').count()) === 0, 'cleared');
      await p.id('import-runs').setInputFiles({ name: 'mtl-runs.json', mimeType: 'application/json', buffer: exported.bytes });
      await page.waitForFunction(() => document.querySelectorAll('[data-testid=runs-table] tbody tr').length === 3);
      assert((await runLabels()).join('|') === labels.join('|'), 'the import gives the runs back');
      await p.id('import-runs').setInputFiles({ name: 'mtl-runs.json', mimeType: 'application/json', buffer: exported.bytes });
      await page.waitForFunction(() => /Imported 0 of the file's 3 runs/.test(document.querySelector('[data-testid=notices]')?.textContent || ''));
      await p.id('import-runs').setInputFiles({ name: 'junk.json', mimeType: 'application/json', buffer: Buffer.from('{"runs": 7}') });
      await page.waitForFunction(() => /Nothing imported: this file is not a run history/.test(document.querySelector('[data-testid=notices]')?.textContent || ''));
      assert((await page.locator('[data-testid=runs-table] tbody tr').count()) === 3, 'a bad file loses nothing');
      await p.click('show-code');
      const code = await p.id('code').textContent();
      assert(/MMOE\(/.test(code) && /model\.fit\(/.test(code), `code: ${code.slice(0, 120)}`);
      await p.screenshot(shots, 'exports');
      await p.click('clear-runs');
      assert((await page.locator('[data-testid=runs-table] tbody tr').count()) === 0, 'cleared');
    },
  },
];
