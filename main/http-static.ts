import fs from 'node:fs/promises';
import path from 'node:path';
import type { ServerResponse } from 'node:http';
import { isInside } from './updater/archive/paths';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

/** Meta tag name under which the page receives the API token. */
export const TOKEN_META_NAME = 'backend-updater-token';

/**
 * Serves the built renderer from `rootDir`. The index page gets the API token
 * in a meta tag: only a page served from this origin can read it, because the
 * API sends no CORS headers.
 */
export async function serveStatic(rootDir: string, urlPath: string, token: string, response: ServerResponse): Promise<boolean> {
  let relative: string;
  try {
    relative = decodeURIComponent(urlPath === '/' ? '/index.html' : urlPath).replace(/^\/+/, '');
  } catch {
    return false;
  }
  const root = path.resolve(rootDir);
  const file = path.resolve(root, relative);
  if (!isInside(root, file) || relative.includes('\0')) return false;

  let body: Buffer;
  try {
    body = await fs.readFile(file);
  } catch {
    return false;
  }
  const extension = path.extname(file).toLowerCase();
  if (extension === '.html') {
    const meta = `<meta name="${TOKEN_META_NAME}" content="${token}">`;
    body = Buffer.from(body.toString('utf8').replace('<head>', `<head>\n    ${meta}`));
  }
  response.writeHead(200, {
    'content-type': CONTENT_TYPES[extension] ?? 'application/octet-stream',
    'content-length': body.length,
    'cache-control': extension === '.html' ? 'no-store' : 'max-age=3600',
    'x-content-type-options': 'nosniff',
    'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'",
  });
  response.end(body);
  return true;
}
