// A minimal static server for dist/, mounted under a path prefix, on 127.0.0.1 only.
// It serves .gz files as they are (no Content-Encoding), like most static hosts.
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.gz': 'application/gzip',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

export function serve(root, prefix = '/', port = 0) {
  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url, 'http://localhost');
      if (!url.pathname.startsWith(prefix)) {
        res.writeHead(404).end('outside the prefix');
        return;
      }
      let rel = decodeURIComponent(url.pathname.slice(prefix.length)) || 'index.html';
      const path = normalize(join(root, rel));
      if (!path.startsWith(normalize(root) + sep) && path !== normalize(root)) {
        res.writeHead(403).end();
        return;
      }
      const info = await stat(path).catch(() => null);
      const file = info?.isDirectory() ? join(path, 'index.html') : path;
      const body = await readFile(file);
      res.writeHead(200, {
        'Content-Type': TYPES[extname(file)] || 'application/octet-stream',
        'Cache-Control': 'no-store',
      });
      res.end(body);
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  return new Promise((ok) => server.listen(port, '127.0.0.1', () => ok(server)));
}

// `node tests/e2e/serve.mjs dist 8080` serves a build by hand.
if (import.meta.url === `file://${process.argv[1]}`) {
  const [root = 'dist', port = '8080'] = process.argv.slice(2);
  const server = await serve(root, '/', Number(port));
  console.log(`serving ${root} on http://127.0.0.1:${server.address().port}/`);
}
