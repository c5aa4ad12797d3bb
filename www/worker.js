// The model worker (crates/web/src/worker_client.rs). The worker big runs
// go to (booted with `helper`) is handed how to start its second worker
// (the same compiled module, for half of a big run's designs:
// crates/web/src/worker.rs) with the port to the page the page gave it,
// for that worker's progress; the second worker, booted with `part` and
// that port, and the other workers are not. A module given by URL (the explore module's)
// is fetched and compiled here, once for both, while its JS glue loads.
self.onmessage = async (ev) => {
  const early = [];
  self.onmessage = (e) => early.push(e.data);
  const { js, part, helper } = ev.data;
  const compile = async (url) => {
    const r = await fetch(url);
    return WebAssembly.compileStreaming(r.clone())
      .catch(async () => WebAssembly.compile(await r.arrayBuffer()));
  };
  const compiled = typeof ev.data.wasm === 'string' ? compile(ev.data.wasm) : ev.data.wasm;
  const m = await import(js);
  const wasm = await compiled;
  await m.default({ module_or_path: wasm });
  const { port } = ev.data;
  m.worker_main(helper && !part ? () => {
    const w = new Worker(location.href, { type: 'module' });
    w.postMessage({ js, wasm, part: true, port }, [port]);
    return w;
  } : undefined, !!part, part ? port : undefined);
  for (const data of early) self.dispatchEvent(new MessageEvent('message', { data }));
};
