// The model worker (crates/web/src/worker_client.rs).
self.onmessage = async (ev) => {
  const early = [];
  self.onmessage = (e) => early.push(e.data);
  const { js, wasm } = ev.data;
  const m = await import(js);
  await m.default({ module_or_path: wasm });
  m.worker_main();
  for (const data of early) self.dispatchEvent(new MessageEvent('message', { data }));
};
