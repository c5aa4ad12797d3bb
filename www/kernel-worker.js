// The kernel worker: the model plus kernel builds, in the kernel-build
// module (kernel.js, kernel_bg.wasm; crates/web-kernel), fetched only when
// a kernel build is first chosen. The page sends the module's URLs first.
// Requests are served one at a time, in order: a {"fetch-kernel":...}
// request (the shipped build) is fetched here and handed over as a
// load-kernel request before the next one runs. Requests posted while the
// module instantiates are kept and served first, in order.
self.onmessage = async (ev) => {
  const early = [];
  self.onmessage = (e) => early.push(e);
  const { js, wasm } = ev.data;
  const m = await import(js);
  await m.default({ module_or_path: wasm });
  let chain = Promise.resolve();
  // A request that throws (a trap in the module) is answered with an error
  // for its id, and the next requests still run.
  const failed = (text, err) => {
    let id = 0;
    try {
      id = Object.values(JSON.parse(text))[0].id ?? 0;
    } catch (_) {}
    const message = `the kernel worker failed: ${err?.message || err}`;
    self.postMessage({ json: JSON.stringify({ error: { id, message } }), words: [] });
  };
  self.onmessage = (e) => {
    const text = e.data;
    chain = chain.then(async () => {
      if (typeof text !== 'string') return;
      if (!text.startsWith('{"fetch-kernel"')) {
        m.kernel_request(text);
        return;
      }
      const { id, url } = JSON.parse(text)['fetch-kernel'];
      try {
        const r = await fetch(url);
        if (!r.ok) throw new Error(`${r.status} ${r.statusText}`);
        const build = await r.text();
        m.kernel_request(JSON.stringify({ 'load-kernel': { id, text: build } }));
      } catch (err) {
        const message = `cannot fetch the kernel build ${url}: ${err.message || err}`;
        self.postMessage({ json: JSON.stringify({ error: { id, message } }), words: [] });
      }
    }).catch((err) => failed(text, err));
  };
  m.kernel_worker_main();
  for (const e of early) self.onmessage(e);
};
