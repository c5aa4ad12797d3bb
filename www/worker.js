// The model worker (crates/web/src/worker_client.rs). A model worker is
// handed how to start its second worker (the same module, for a big
// run's second half of the designs: crates/web/src/worker.rs); the
// second worker, booted with `part`, is not.
self.onmessage = async (ev) => {
  const early = [];
  self.onmessage = (e) => early.push(e.data);
  const { js, wasm, part } = ev.data;
  const m = await import(js);
  await m.default({ module_or_path: wasm });
  m.worker_main(part ? undefined : () => {
    const w = new Worker(location.href, { type: 'module' });
    w.postMessage({ js, wasm, part: true });
    return w;
  });
  for (const data of early) self.dispatchEvent(new MessageEvent('message', { data }));
};
