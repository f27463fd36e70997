// The RPC commands other than add: cat, pin/*, version, id.

import { fileSize, readFile, resolvePath } from './dag.mjs';
import { ApiError, ClientError } from './errors.mjs';

export const NODE_VERSION = '0.1.0';
const PIN_TYPES = ['all', 'direct', 'indirect', 'recursive'];

/**
 * Send one JSON value the way Kubo does (newline-terminated).
 * @param {import('node:http').ServerResponse} res
 * @param {unknown} value
 */
export function sendJson(res, value) {
  const body = `${JSON.stringify(value)}\n`;
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** Bytes of a cat range verified before the response starts (see cat()). */
const VERIFY_BEFORE_RESPONSE_BYTES = 16 * 1024 * 1024;

/**
 * Wait until the response can take more data, or the client is gone.
 * @param {import('node:http').ServerResponse} res
 * @returns {Promise<void>}
 */
function writable(res) {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/**
 * All bytes of the planned parts, in order.
 * @returns {AsyncGenerator<Uint8Array>}
 */
async function* concatenate(parts, store) {
  for (const part of parts) {
    yield* readFile(part.cid, store, part.offset, part.length);
  }
}

/**
 * `/api/v0/cat`: the bytes of one or more files, concatenated, from `offset`, at most `length`.
 *
 * Every block is hashed and checked against its CID as it is read. The first
 * 16 MiB of the range are read (and so verified) before the response starts,
 * so for artifacts up to that size - and for a bad root or first blocks of any
 * file - a missing or corrupted block is a Kubo-shaped HTTP 500 naming the CID.
 * A bad block further into a larger file is found while streaming: the
 * connection is then cut before the final chunk, so the client sees a broken
 * body and can never mistake the partial bytes for the file. Bytes are written
 * with backpressure: a slow reader keeps the node from reading ahead.
 * @throws {ApiError|ClientError}
 */
export async function cat(req, res, ctx, opts) {
  const paths = opts.requiredArgs('ipfs-path');
  let offset = opts.int('offset', 0);
  if (offset < 0) {
    throw new ApiError('cannot specify negative offset');
  }
  const length = opts.int('length', undefined);
  if (length !== undefined && length < 0) {
    throw new ApiError('cannot specify negative length');
  }
  let remaining = length ?? Number.POSITIVE_INFINITY;
  const parts = [];
  for (const p of paths) {
    if (remaining === 0) {
      break;
    }
    const cid = await resolvePath(p, ctx.store);
    const size = await fileSize(cid, ctx.store);
    if (offset >= size) {
      // Kubo: an offset past this file carries over into the next one.
      offset -= size;
      continue;
    }
    const n = Math.min(size - offset, remaining);
    parts.push({ cid, offset, length: n });
    remaining -= n;
    offset = 0;
  }
  const bytes = concatenate(parts, ctx.store);
  const head = [];
  let headBytes = 0;
  let exhausted = false;
  while (headBytes < VERIFY_BEFORE_RESPONSE_BYTES) {
    const next = await bytes.next(); // throws before any byte is sent
    if (next.done) {
      exhausted = true;
      break;
    }
    head.push(next.value);
    headBytes += next.value.length;
  }
  res.writeHead(200, {
    'Content-Type': 'text/plain',
    'X-Stream-Output': '1',
    'X-Content-Length': String(parts.reduce((sum, part) => sum + part.length, 0)),
    Trailer: 'X-Stream-Error',
  });
  for (const chunk of head) {
    res.write(chunk);
  }
  head.length = 0;
  if (exhausted) {
    res.end();
    return;
  }
  try {
    for await (const chunk of bytes) {
      if (res.destroyed) {
        return;
      }
      if (!res.write(chunk)) {
        await writable(res);
      }
    }
  } catch (err) {
    process.stderr.write(`cat ${paths.join(' ')} failed mid-stream: ${err.message}\n`);
    // Cut the connection: without the final chunk the client sees a broken body, not a short file.
    res.destroy();
    return;
  }
  res.end();
}

/**
 * Resolve every path argument to a CID.
 * @returns {Promise<import('multiformats/cid').CID[]>}
 */
async function resolveAll(opts, ctx) {
  const cids = [];
  for (const p of opts.requiredArgs('ipfs-path')) {
    cids.push(await resolvePath(p, ctx.store));
  }
  return cids;
}

/** `/api/v0/pin/add`: pin (recursively by default); the whole DAG must be local. */
export async function pinAdd(req, res, ctx, opts) {
  const recursive = opts.bool('recursive', true);
  const cids = await ctx.pins.add(await resolveAll(opts, ctx), recursive);
  sendJson(res, { Pins: cids.map(String) });
}

/** `/api/v0/pin/rm`: unpin; the blocks stay until someone deletes them (no GC here). */
export async function pinRm(req, res, ctx, opts) {
  const recursive = opts.bool('recursive', true);
  const cids = await ctx.pins.rm(await resolveAll(opts, ctx), recursive);
  sendJson(res, { Pins: cids.map(String) });
}

/** `/api/v0/pin/ls`: `{"Keys": {cid: {"Type": ...}}}`, or NDJSON `{"Cid","Type"}` with `stream`. */
export async function pinLs(req, res, ctx, opts) {
  const type = opts.string('type', 'all');
  if (!PIN_TYPES.includes(type)) {
    throw new ApiError(`invalid type '${type}', must be one of {direct, indirect, recursive, all}`);
  }
  let keys = {};
  const args = opts.args();
  if (args.length > 0) {
    for (const arg of args) {
      const cid = await resolvePath(arg, ctx.store);
      const pinType = await ctx.pins.pinType(cid, type);
      if (pinType === null) {
        throw new ApiError(`path '${arg}' is not pinned`);
      }
      keys[cid.toString()] = { Type: pinType };
    }
  } else {
    keys = await ctx.pins.list(type);
  }
  if (opts.bool('stream', false)) {
    res.writeHead(200, { 'Content-Type': 'application/json', 'X-Chunked-Output': '1' });
    for (const [cid, { Type }] of Object.entries(keys)) {
      res.write(`${JSON.stringify({ Cid: cid, Type })}\n`);
    }
    res.end();
    return;
  }
  sendJson(res, { Keys: keys });
}

/** `/api/v0/version`, in Kubo's shape; the version is this node's own. */
export async function version(req, res) {
  const arch = { x64: 'amd64', ia32: '386' }[process.arch] ?? process.arch;
  sendJson(res, {
    Version: `${NODE_VERSION}-flep`,
    Commit: '',
    Repo: '1',
    System: `${arch}/${process.platform}`,
    Golang: `node${process.version}`,
  });
}

/** `/api/v0/id`: the node's stable peer ID; no addresses, since it never joins a swarm. */
export async function id(req, res, ctx, opts) {
  const args = opts.args();
  if (args.length > 0 && args[0] !== ctx.repo.identity.peerId) {
    throw new ApiError(`cannot look up peer ${args[0]}: this node is offline (no libp2p, no routing)`);
  }
  if (opts.has('format')) {
    throw new ClientError('option "format" is not supported by this node');
  }
  sendJson(res, {
    ID: ctx.repo.identity.peerId,
    PublicKey: ctx.repo.identity.publicKey,
    Addresses: [],
    AgentVersion: `flep-ipfs-node/${NODE_VERSION}`,
    Protocols: [],
  });
}
