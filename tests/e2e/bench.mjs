// Measurements of the built site against the README's budgets (a script,
// not a test):
//
//   cd /work/main && node tests/e2e/bench.mjs
//
// (a) gzipped size of every .wasm/.js/.css in dist/, the page's total and
//     the modules loaded on demand;
// (b) navigation → both verdicts on screen for a shared #s= link of the
//     rfc-i386-pae preset (median of 5 loads, each in a fresh context);
// (c) ?preset=huge-initrd: the longest main-thread task (longtask observer)
//     while the run is going, and navigation → both verdicts;
// (d) the worker's model time for huge-initrd: the worker alone (no page
//     app), Run request posted → Result received, after its wasm is ready,
//     three runs a second apart: in the page's own module (where small
//     runs go) and in the worker big runs go to (the explore module, booted
//     as the page boots it: with a second worker, which it splits the
//     designs with);
// (e) the explorer's candidates per second in one worker (5,000 in chunks
//     of 100, as the page sends them; the first 1,000 apart);
// (f) issue 15's exhaustive benchmark in one worker: every order of up to
//     20 calls on two segments of four pages (minutes; skip it with
//     --no-exhaustive);
// (g) the host, in the same Chromium, no code of ours: a chain of
//     dependent shift, xor and multiply (the clock a page's thread gets)
//     and a chase of dependent loads through 64 MiB (the memory's
//     latency), as criterion's `host` group measures them natively, so a
//     reading can be told from the host it was taken on.

import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { start, launch, DIST } from './server.mjs';
import { installProbes, settled, median } from './helpers.mjs';

const LOADS = 5;
const HUGE_LOADS = 3;
const WORKER_RUNS = 3;
const RUN_GAP = 1000;

const kib = (n) => (n / 1024).toFixed(1);
const ms = (n) => (n === null || n === undefined || Number.isNaN(n) ? '-' : `${n.toFixed(0)} ms`);

function table(title, header, rows) {
  const all = [header, ...rows].map((r) => r.map(String));
  const w = header.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  const line = (r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  console.log(`\n${title}`);
  console.log(line(all[0]));
  console.log(w.map((n) => '-'.repeat(n)).join('  '));
  for (const r of all.slice(1)) console.log(line(r));
}

function withTimeout(ms, what, promise) {
  let t;
  const timeout = new Promise((_, reject) => {
    t = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(t));
}

// (a) sizes: what the page loads (its wasm, JS and CSS, the worker's glue)
// against the budget; the labs module (labs.js, labs_bg.wasm), fetched only
// when a lab is opened, the explore module (explore.js, explore_bg.wasm),
// fetched when a search first starts, and the kernel-build module
// (kernel-worker.js, kernel.js, kernel_bg.wasm), fetched only when a kernel
// build is chosen, apart; embed.js is embed.html's, not the page's.
const LAZY = /^(labs\.js|labs_bg\.wasm|explore\.js|explore_bg\.wasm|kernel-worker\.js|kernel\.js|kernel_bg\.wasm|embed\.js)$/;
function sizes() {
  const files = fs
    .readdirSync(DIST, { recursive: true })
    .map(String)
    .filter((f) => /\.(wasm|js|css)$/.test(f))
    .sort();
  let raw = 0;
  let gz = 0;
  let lazyGz = 0;
  const rows = files.map((f) => {
    const buf = fs.readFileSync(path.join(DIST, f));
    const z = zlib.gzipSync(buf, { level: 9 }).length;
    if (LAZY.test(f)) {
      lazyGz += z;
      return [`${f} (loaded on demand)`, kib(buf.length), kib(z)];
    }
    raw += buf.length;
    gz += z;
    return [f, kib(buf.length), kib(z)];
  });
  rows.push(['total the page loads', kib(raw), kib(gz)]);
  rows.push(['loaded on demand', '', kib(lazyGz)]);
  table('(a) dist assets (KiB; budget: the page\'s wasm + JS + CSS under 300 KiB gzipped)', ['file', 'raw', 'gzip -9'], rows);
  return gz;
}

async function newPage(browser) {
  const context = await browser.newContext({ viewport: { width: 1440, height: 1000 }, acceptDownloads: true });
  context.setDefaultTimeout(60_000);
  const page = await context.newPage();
  return { context, page };
}

// (b) shared link → verdicts
async function sharedLink(browser, base) {
  // The default page is the rfc-i386-pae preset; its URL becomes its #s= link.
  let url;
  {
    const { context, page } = await newPage(browser);
    await page.goto(base);
    await settled(page);
    await page.waitForFunction(() => location.hash.startsWith('#s=1.'));
    if ((await page.locator('#preset').inputValue()) !== 'rfc-i386-pae') throw new Error('the default page is not rfc-i386-pae');
    url = page.url();
    await context.close();
  }
  const rows = [];
  const inPage = [];
  for (let i = 0; i < LOADS; i++) {
    const { context, page } = await newPage(browser);
    await page.addInitScript(installProbes);
    const t0 = Date.now();
    await page.goto(url);
    await settled(page);
    const wall = Date.now() - t0;
    const p = await page.evaluate(() => window.__e2e);
    const nav = await page.evaluate(() => {
      const n = performance.getEntriesByType('navigation')[0];
      return { dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd };
    });
    rows.push([`load ${i + 1}`, ms(p.verdictsAt), ms(wall), ms(nav.dcl), ms(nav.load)]);
    inPage.push(p.verdictsAt);
    await context.close();
  }
  rows.push(['median', ms(median(inPage)), '', '', '']);
  table(
    `(b) shared link of rfc-i386-pae → both verdicts (budget: within 1 s)\n    ${url.slice(0, 72)}…`,
    ['', 'verdicts (perf.now)', 'goto→verdicts', 'DOMContentLoaded', 'load'],
    rows,
  );
  return median(inPage);
}

// Installed before navigation: when the page created the worker it posts
// its first run to (its own module's, prespawned), posted that run, and
// received its result (performance.now()), in window.__workerTimes. The
// page's module calls the global Worker and its postMessage at call time,
// so a subclass sees both.
function workerProbes() {
  const t = (window.__workerTimes = {});
  const W = window.Worker;
  window.Worker = class extends W {
    constructor(...args) {
      super(...args);
      this.createdAt = performance.now();
      this.addEventListener('message', (e) => {
        if (String(e.data?.json).startsWith('{"result"')) t.result ??= performance.now();
      });
    }
    postMessage(m, ...rest) {
      if (String(m).startsWith('{"run"') && t.posted === undefined) {
        t.posted = performance.now();
        t.spawned = this.createdAt;
      }
      return super.postMessage(m, ...rest);
    }
  };
}

// (c) huge-initrd in the page
async function huge(browser, base) {
  const rows = [];
  const worst = [];
  const toVerdicts = [];
  const steps = [];
  let scenarioJson = null;
  for (let i = 0; i < HUGE_LOADS; i++) {
    const { context, page } = await newPage(browser);
    await page.addInitScript(installProbes);
    await page.addInitScript(workerProbes);
    await page.goto(base + '?preset=huge-initrd');
    await settled(page, 60_000);
    await page.waitForTimeout(500);
    const p = await page.evaluate(() => window.__e2e);
    const w = await page.evaluate(() => window.__workerTimes);
    if (!scenarioJson) {
      const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#download-json')]);
      scenarioJson = JSON.stringify(JSON.parse(fs.readFileSync(await dl.path(), 'utf8')));
    }
    const from = p.progressShownAt;
    const to = p.verdictsAt;
    const during = p.longtasks.filter((l) => l.start + l.duration >= from && l.start <= to);
    const after = p.longtasks.filter((l) => l.start > to);
    const longest = Math.max(0, ...during.map((l) => l.duration));
    worst.push(longest);
    toVerdicts.push(to);
    rows.push([
      `load ${i + 1}`,
      ms(longest),
      String(during.length),
      after.map((l) => l.duration.toFixed(0)).join(',') || '-',
      ms(from),
      ms(to - from),
      ms(to),
      String(p.progressMax),
    ]);
    steps.push([
      `load ${i + 1}`,
      ms(w.spawned),
      ms(w.posted),
      ms(w.result),
      ms(to),
      ms(w.result - w.posted),
      ms(to - w.result),
    ]);
    await context.close();
  }
  rows.push(['median', ms(median(worst)), '', '', '', '', ms(median(toVerdicts)), '']);
  table(
    '(c) ?preset=huge-initrd (1 GiB, 2 variants) in the page (budget: no main-thread task over 50 ms during the run)',
    ['', 'longest task in run', '#long tasks', 'after verdicts (ms)', 'run starts', 'run → verdicts', 'nav → verdicts', 'max progress %'],
    rows,
  );
  table(
    '    the same loads, where the time goes (ms since navigation; the page\'s first model worker and its messages)',
    ['', 'run\'s worker created', 'first run posted', 'result received', 'verdicts', 'posted → result', 'result → verdicts'],
    steps,
  );
  return { worst: Math.max(...worst), hugeLink: median(toVerdicts), scenarioJson };
}

// (d) the worker alone, on the page's own module (the kexec core at
// opt-level "z", where the page runs small images) and on the explore
// module (the core at 3, where the page runs big ones: the budget).
async function workerTime(browser, base, scenarioJson) {
  const { context, page } = await newPage(browser);
  // Any document of the site's origin will do (not the app itself, whose own
  // worker would compete for the cores): the worker's boot script.
  await page.goto(base + 'worker.js');
  const runs = async (variants, module) =>
    withTimeout(120_000, 'the worker benchmark', page.evaluate(
      async ({ scenario, runs, module, gap }) => {
        // The worker loads the page's own module (its JS glue and wasm from
        // index.html's preload links, as the page sends them) or the
        // explore module.
        const html = await (await fetch('./')).text();
        // (Trunk minifies the page: attributes in any order, unquoted.)
        const links = [...html.matchAll(/<link\b([^>]*)>/g)].map((m) => m[1]);
        const attr = (tag, name) => tag.match(new RegExp(`\\b${name}=(?:"([^"]*)"|([^\\s>]+))`))?.slice(1).find(Boolean);
        const href = (rel, ext) => links.find((l) => attr(l, 'rel') === rel && attr(l, 'href')?.endsWith(ext) && !attr(l, 'href').includes('snippets/'));
        const page = module === 'page';
        const js = new URL(page ? attr(href('modulepreload', '.js'), 'href') : 'explore.js', location.href).href;
        const wasm = new URL(page ? attr(href('preload', '.wasm'), 'href') : 'explore_bg.wasm', location.href).href;
        const w = new Worker('./worker.js', { type: 'module' });
        // The explore module as the page boots it for big runs: with its
        // second worker (crates/web/src/worker_client.rs, spawn_big).
        w.postMessage({ js, wasm, helper: !page });
        // The protocol is internal to the app and has been both internally
        // tagged ({"kind":"ready"}) and externally tagged ("ready",
        // {"result":{…}}): read either, and answer in the style Ready came in.
        let external = false;
        const decode = (json) => {
          const v = JSON.parse(json);
          if (typeof v === 'string') return (external = true), { kind: v, body: {} };
          if (v && typeof v.kind === 'string') return { kind: v.kind, body: v };
          const [kind] = Object.keys(v);
          external = true;
          return { kind, body: v[kind] ?? {} };
        };
        const encode = (kind, body) => JSON.stringify(external ? { [kind]: body } : { kind, ...body });
        const next = (pred) =>
          new Promise((resolve, reject) => {
            const on = (ev) => {
              const r = decode(ev.data.json);
              if (r.kind === 'error') return reject(new Error(r.body.message));
              if (pred(r)) {
                w.removeEventListener('message', on);
                resolve({ r, ev });
              }
            };
            w.addEventListener('message', on);
            w.addEventListener('error', (e) => reject(new Error(`worker error: ${e.message}`)));
          });
        const t = performance.now();
        await next((r) => r.kind === 'ready');
        const ready = performance.now() - t;
        const out = [];
        for (let i = 0; i < runs; i++) {
          // Runs a second apart, as a user's edits come (the page runs each
          // revision after its debounce).
          await new Promise((r) => setTimeout(r, gap));
          let first = null;
          const onProgress = (ev) => {
            if (first === null && decode(ev.data.json).kind === 'progress') first = performance.now();
          };
          w.addEventListener('message', onProgress);
          const t0 = performance.now();
          w.postMessage(encode('run', { id: i + 1, scenario }));
          const { r, ev } = await next((r) => r.kind === 'result');
          const t1 = performance.now();
          w.removeEventListener('message', onProgress);
          out.push({
            total: t1 - t0,
            firstProgress: first === null ? null : first - t0,
            verdicts: r.body.summaries.runs.map((s) => `${s.variant}: ${s.kind}${s.status === 0 ? ' ok' : ''}`),
            words: ev.data.words.map((b) => b.byteLength / 8),
          });
        }
        w.terminate();
        return { ready, out };
      },
      { scenario: JSON.stringify({ ...JSON.parse(scenarioJson), variants }), runs: WORKER_RUNS, module, gap: RUN_GAP },
    ));
  const rows = [];
  let fourMedian = null;
  for (const module of ['page', 'explore']) for (const variants of [JSON.parse(scenarioJson).variants, ['pointer', 'highmem-zone', 'rfc-posted', 'rfc-fixed']]) {
    const { ready, out } = await runs(variants, module);
    const totals = out.map((o) => o.total);
    rows.push([
      module,
      variants.join(', '),
      ms(ready),
      totals.map((x) => x.toFixed(0)).join(' / '),
      ms(median(totals)),
      out[0].verdicts.join('; '),
    ]);
    // The budget: the worker the page runs huge-initrd in.
    if (variants.length === 4 && module === 'explore') fourMedian = median(totals);
  }
  await context.close();
  table(
    `(d) the model worker alone on huge-initrd (Run posted → Result received, incl. relocation check, summaries, report, transfer; ${WORKER_RUNS} runs ${RUN_GAP} ms apart)\n    budget (issue 16): all four variants + relocation within 250 ms in headless Chromium`,
    ['module', 'variants', 'wasm ready', 'runs (ms)', 'median', 'verdicts'],
    rows,
  );
  return fourMedian;
}

// Installed in a page of the site's origin: window.exploreWorker() starts
// an explore-module worker (as the Explore panel does) and resolves, once
// it is ready, to it and next(kind), the next response of that kind (or
// an error).
function exploreWorkerHelper() {
  window.exploreWorker = async () => {
    const w = new Worker('./worker.js', { type: 'module' });
    w.postMessage({ js: new URL('explore.js', location.href).href, wasm: new URL('explore_bg.wasm', location.href).href });
    const next = (k) => new Promise((resolve) => {
      const on = (ev) => {
        const v = JSON.parse(ev.data.json);
        if (v === k || (v && (v[k] || v.error))) { w.removeEventListener('message', on); resolve(v); }
      };
      w.addEventListener('message', on);
    });
    await next('ready');
    return { w, next };
  };
}

// One request to an explore-module worker (as the Explore panel starts
// one), timed from the post to the first response of `kind` (or an
// error), after the worker's wasm is ready: { secs, v }.
async function inExploreWorker(browser, base, request, kind, limitMs) {
  const { context, page } = await newPage(browser);
  await page.addInitScript(exploreWorkerHelper);
  await page.goto(base + 'worker.js');
  try {
    return await withTimeout(limitMs, `the ${kind} benchmark`, page.evaluate(async ({ request, kind }) => {
      const { w, next } = await window.exploreWorker();
      const t0 = performance.now();
      const done = next(kind);
      w.postMessage(JSON.stringify(request));
      const v = await done;
      const secs = (performance.now() - t0) / 1000;
      w.terminate();
      return { secs, v };
    }, { request, kind }));
  } finally {
    await context.close();
  }
}

// (e) the explorer in one worker: candidates per second (issue: at least
// half of the native rate per core, `cargo bench -p kexec-core -- explore`).
async function exploreRate(browser, base) {
  const swap = {
    version: 1, arch: 'i386', ram: [{ start: '0x0', end: '0x4000000' }],
    segments: [{ bufsz: 8192, mem: '0x1000000', memsz: 8192 }],
    allocator: { replay: ['0x2000', '0x2001', '0x2002', '0x2003', '0x1000'] }, variants: ['pointer', 'rfc-fixed'],
  };
  // As the page searches: chunks of 100 candidates (use_explore's CHUNK),
  // two in flight (the next sent when one is answered), 5,000 in all (the native
  // figure's count: `kexec-sim explore --budget 5000 --jobs 1`). A fresh
  // worker runs V8's baseline code until its optimizing compiles land,
  // so the first 1,000 and the rest are shown apart too.
  const n = 5000;
  const chunk = 100;
  const { context, page } = await newPage(browser);
  await page.addInitScript(exploreWorkerHelper);
  await page.goto(base + 'worker.js');
  let times;
  try {
    times = await withTimeout(120_000, 'the explorer benchmark', page.evaluate(async ({ base, n, chunk }) => {
      const { w, next } = await window.exploreWorker();
      const t0 = performance.now();
      const at = [];
      const send = (start) =>
        w.postMessage(JSON.stringify({ explore: { id: start / chunk + 1, base, goal: 'verdict:pointer,rfc-fixed', seed: 1, start, end: start + chunk } }));
      // Two chunks in flight, as the page keeps them per worker.
      send(0);
      send(chunk);
      for (let start = 0; start < n; start += chunk) {
        const v = await next('explored');
        if (!v.explored) throw new Error(`explore: ${JSON.stringify(v)}`);
        if (v.explored.tried !== chunk) throw new Error(`a hit at ${v.explored.hit}: the bench's base must have none`);
        at.push(performance.now() - t0);
        if (start + 2 * chunk < n) send(start + 2 * chunk);
      }
      w.terminate();
      return at;
    }, { base: JSON.stringify(swap), n, chunk }));
  } finally {
    await context.close();
  }
  const perSec = (count, ms) => Math.round(count / (ms / 1000));
  const k = 1000 / chunk;
  const rate = perSec(n, times.at(-1));
  console.log(
    `\n(e) the explorer in one worker (verdict:pointer,rfc-fixed from swap-path, ${n} candidates in chunks of ${chunk}): ${rate} candidates/s` +
      `\n    the first 1000 (a fresh worker's cold code): ${perSec(1000, times[k - 1])}/s; the other ${n - 1000}: ${perSec(n - 1000, times.at(-1) - times[k - 1])}/s`,
  );
  return rate;
}

// (f) the exhaustive check of issue 15's machine in one worker, as the
// Explore panel runs it: Exhaustive request posted → Checked received.
// The machine is `exhaustive_machine(4)` of crates/core/benches/load.rs
// (i386-pae, 1 MiB each of lowmem, highmem and RAM above 4 GiB, two
// segments of four pages), the goal differ:pointer,rfc-fixed, 20 calls.
async function exhaustiveTime(browser, base) {
  const seg = (mem) => ({ bufsz: 0x4000, mem, memsz: 0x4000 });
  const machine = {
    version: 1, arch: 'i386-pae',
    ram: [
      { start: '0x1000000', end: '0x1100000' },
      { start: '0x40000000', end: '0x40100000' },
      { start: '0x100000000', end: '0x100100000' },
    ],
    segments: [seg('0x1000000'), seg('0x1040000')],
    allocator: { policy: 'lowest-first' }, variants: ['pointer', 'rfc-fixed'],
  };
  const req = { exhaustive: { id: 1, base: JSON.stringify(machine), goal: 'differ:pointer,rfc-fixed', max_calls: 20 } };
  const { secs, v } = await inExploreWorker(browser, base, req, 'checked', 900_000);
  if (!v.checked) throw new Error(`exhaustive: ${JSON.stringify(v)}`);
  console.log(`\n(f) exhaustive, issue 15's machine (differ:pointer,rfc-fixed, 20 calls) in one worker: ${secs.toFixed(1)} s`);
  console.log(`    ${v.checked.stats}`);
  console.log(`    ${v.checked.claim}`);
  return secs;
}

// (g) the host: medians of 5 rounds in a blank page.
async function hostReference(browser) {
  const { context, page } = await newPage(browser);
  const r = await page.evaluate(() => {
    const LINKS = 1 << 24;
    const chain = () => {
      let x = 1;
      const t = performance.now();
      for (let i = 0; i < LINKS; i++) x = Math.imul(x ^ (x >>> 13), 0x9e3779b1);
      return [performance.now() - t, x];
    };
    // A random single cycle through 64 MiB (Sattolo's shuffle, a fixed
    // linear congruential stream): each load's index is the load before's value.
    const SLOTS = 1 << 24;
    const LOADS = 1 << 20;
    const next = new Uint32Array(SLOTS);
    for (let i = 0; i < SLOTS; i++) next[i] = i;
    let s = 1;
    for (let i = SLOTS - 1; i > 0; i--) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      const j = Math.floor((s / 4294967296) * i);
      const t = next[i];
      next[i] = next[j];
      next[j] = t;
    }
    const chase = () => {
      let at = 0;
      const t = performance.now();
      for (let i = 0; i < LOADS; i++) at = next[at];
      return [performance.now() - t, at];
    };
    const med = (f) => {
      const xs = [0, 1, 2, 3, 4, 5].map(() => f()[0]).slice(1).sort((a, b) => a - b);
      return xs[2];
    };
    return { ghz: (5 * LINKS) / (med(chain) * 1e6), ns: (med(chase) * 1e6) / LOADS };
  });
  await context.close();
  console.log(
    `\n(g) the host in this Chromium (no code of ours; medians of 5): a dependent shift-xor-multiply chain at ${r.ghz.toFixed(2)} G cycles/s (5 cycles a link), dependent loads through 64 MiB at ${r.ns.toFixed(0)} ns each`,
  );
  return r;
}

const srv = await start();
const browser = await launch();
try {
  const gz = sizes();
  const link = await sharedLink(browser, srv.base);
  const { worst, hugeLink, scenarioJson } = await huge(browser, srv.base);
  const model = await workerTime(browser, srv.base, scenarioJson);
  const rate = await exploreRate(browser, srv.base);
  const exh = process.argv.includes('--no-exhaustive') ? null : await exhaustiveTime(browser, srv.base);
  const host = await hostReference(browser);
  table('summary against the README\'s budgets', ['budget', 'limit', 'measured', 'verdict'], [
    ['wasm+JS+CSS gzipped', '300 KiB', `${kib(gz)} KiB`, gz <= 300 * 1024 ? 'ok' : 'OVER'],
    ['shared link → verdicts (median)', '1000 ms', ms(link), link <= 1000 ? 'ok' : 'OVER'],
    ['longest main-thread task, 1 GiB run (worst)', '50 ms', ms(worst), worst <= 50 ? 'ok' : 'OVER'],
    ['?preset=huge-initrd → both verdicts (median)', '600 ms', ms(hugeLink), hugeLink <= 600 ? 'ok' : 'OVER'],
    ['model, 1 GiB, 4 variants, in worker (median)', '250 ms', ms(model), model <= 250 ? 'ok' : 'OVER'],
    ['explorer, candidates/s in one worker', '5000/s', `${Math.round(rate)}/s`, rate >= 5000 ? 'ok' : 'UNDER'],
    ['exhaustive, issue 15 machine, 20 calls, one worker', '180 s', exh === null ? '-' : `${exh.toFixed(1)} s`, exh === null ? 'skipped' : exh <= 180 ? 'ok' : 'OVER'],
    ['the host: dependent chain (clock), no budget', '-', `${host.ghz.toFixed(2)} GHz`, '(g)'],
    ['the host: dependent loads, 64 MiB, no budget', '-', `${host.ns.toFixed(0)} ns`, '(g)'],
  ]);
} finally {
  await browser.close();
  await srv.close();
}
