// The Kubo RPC API over HTTP: routing, Kubo's status codes and error shape.

import { finished } from 'node:stream/promises';
import http from 'node:http';

import { ADD_ALIASES, add } from './add.mjs';
import { cat, id, pinAdd, pinLs, pinRm, version } from './commands.mjs';
import { ApiError } from './errors.mjs';
import { Options } from './options.mjs';

/**
 * @typedef {object} NodeContext
 * @property {import('./repo.mjs').Repo} repo
 * @property {import('./blockstore.mjs').VerifiedBlockstore} store
 * @property {import('./pins.mjs').PinStore} pins
 */

const COMMANDS = {
  add: { run: add, aliases: ADD_ALIASES },
  cat: { run: cat, aliases: { o: 'offset', l: 'length' } },
  'pin/add': { run: pinAdd, aliases: { r: 'recursive' } },
  'pin/rm': { run: pinRm, aliases: { r: 'recursive' } },
  'pin/ls': { run: pinLs, aliases: { t: 'type', q: 'quiet', s: 'stream' } },
  version: { run: version, aliases: {} },
  id: { run: id, aliases: { f: 'format' } },
};

const API_PREFIX = '/api/v0/';

/**
 * Plain-text answer, as Go's http.Error writes it.
 * @param {import('node:http').ServerResponse} res
 * @param {number} status
 * @param {string} text
 */
function plain(res, status, text) {
  const body = `${text}\n`;
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * Kubo's error body: {"Message","Code","Type":"error"}.
 * @param {import('node:http').ServerResponse} res
 * @param {Error} err
 */
function sendError(res, err) {
  const status = err instanceof ApiError ? err.status : 500;
  const code = err instanceof ApiError ? err.code : 0;
  const body = `${JSON.stringify({ Message: err.message, Code: code, Type: 'error' })}\n`;
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * Read and discard what is left of a request body, so the client gets to
 * read the error response instead of failing on a reset while uploading.
 * @param {import('node:http').IncomingMessage} req
 */
async function drain(req) {
  if (req.complete || req.destroyed) {
    return;
  }
  req.unpipe();
  req.resume();
  await finished(req).catch(() => {});
}

/**
 * Build the HTTP server; the caller listens and closes it.
 * @param {NodeContext} ctx
 * @returns {import('node:http').Server}
 */
export function createApiServer(ctx) {
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (!url.pathname.startsWith(API_PREFIX)) {
      plain(res, 404, '404 page not found');
      return;
    }
    // Like Kubo with no allowed origins: a browser page (which always sends
    // Origin/Referer) must not drive the node through the loopback port.
    if (req.headers.origin !== undefined || req.headers.referer !== undefined) {
      plain(res, 403, '403 - Forbidden');
      return;
    }
    if (req.method !== 'POST') {
      plain(res, 405, '405 - Method Not Allowed');
      return;
    }
    const command = COMMANDS[url.pathname.slice(API_PREFIX.length)];
    if (command === undefined) {
      plain(res, 404, '404 page not found');
      return;
    }
    try {
      await command.run(req, res, ctx, new Options(url.searchParams, command.aliases));
    } catch (err) {
      if (!(err instanceof ApiError)) {
        process.stderr.write(`${url.pathname} failed: ${err.stack ?? err}\n`);
      }
      if (res.headersSent) {
        res.destroy();
        return;
      }
      await drain(req);
      if (!res.destroyed) {
        sendError(res, err);
      }
    }
  });
  // Large artifacts over loopback may take longer than Node's 5-minute default.
  server.requestTimeout = 0;
  return server;
}
