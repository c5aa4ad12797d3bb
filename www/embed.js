// embed.html's frames: each playground frame reports its height with
// postMessage ({type: "kexec-playground-height", height}); its iframe takes it.
window.addEventListener("message", (ev) => {
  const d = ev.data;
  if (!d || d.type !== "kexec-playground-height" || typeof d.height !== "number") return;
  for (const f of document.querySelectorAll("iframe")) {
    if (f.contentWindow === ev.source) f.style.height = Math.min(Math.max(d.height, 80), 2000) + 4 + "px";
  }
});
