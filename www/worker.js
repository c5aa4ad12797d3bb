// The model worker. It loads the page's own wasm module (the page sends the
// URLs of its JS glue and wasm in the first message), so the model ships
// once, then hands over to the module's worker_main, which answers requests.
self.onmessage = async (ev) => {
  self.onmessage = null;
  const { js, wasm } = ev.data;
  const m = await import(js);
  await m.default({ module_or_path: wasm });
  m.worker_main();
};
