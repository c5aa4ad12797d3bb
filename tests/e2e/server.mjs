// A tiny static server for the built site (dist/), mounted under a sub-path
// (`/play/`) to prove the site works from any sub-path, plus a Chromium
// launcher with the flags this machine needs.
//
//   import { start, launch } from './server.mjs';
//   const { base, close } = await start();   // base = http://127.0.0.1:PORT/play/
//   const browser = await launch();

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The built site. */
export const DIST = path.resolve(here, '../../dist');
/** Where the site is mounted. */
export const MOUNT = '/play/';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json',
};

/** The MIME type served for a file name. */
export function mimeType(file) {
  return TYPES[path.extname(file).toLowerCase()] || 'application/octet-stream';
}

function notFound(res) {
  res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
  res.end('not found\n');
}

/**
 * Serve `root` (default dist/) under `/play/` on 127.0.0.1, a free port.
 * Returns { base, origin, port, close }, base ending in `/play/`.
 */
export async function start({ root = DIST, mount = MOUNT } = {}) {
  if (!fs.existsSync(path.join(root, 'index.html'))) {
    throw new Error(`${root}/index.html is missing: build the site first (trunk build --release)`);
  }
  const rootAbs = path.resolve(root);
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' });
      res.end();
      return;
    }
    let pathname;
    try {
      pathname = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    } catch {
      return notFound(res);
    }
    if (!pathname.startsWith(mount)) return notFound(res);
    let rel = pathname.slice(mount.length);
    if (rel === '' || rel.endsWith('/')) rel += 'index.html';
    const file = path.resolve(rootAbs, rel);
    if (file !== rootAbs && !file.startsWith(rootAbs + path.sep)) return notFound(res);
    fs.stat(file, (err, st) => {
      if (err || !st.isFile()) return notFound(res);
      res.writeHead(200, {
        'content-type': mimeType(file),
        'content-length': st.size,
        'cache-control': 'no-store',
      });
      if (req.method === 'HEAD') return res.end();
      fs.createReadStream(file).pipe(res);
    });
  });
  const sockets = new Set();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  const origin = `http://127.0.0.1:${port}`;
  return {
    base: origin + mount,
    origin,
    port,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The Chromium flags this machine needs. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Launch Debian's headless Chromium through playwright-core. */
export function launch(options = {}) {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    ...options,
    args: [...CHROMIUM_ARGS, ...(options.args || [])],
  });
}
