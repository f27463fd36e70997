// `/api/v0/add`: stream a multipart upload into the UnixFS importer.
//
// Bytes flow request -> busboy -> importer -> blockstore without ever being
// held whole: busboy hands each part over as a stream, the importer pulls it
// in fixed-size chunks, and busboy stops reading the socket while the
// importer is busy (backpressure). Defaults are Kubo's `ipfs add` defaults,
// so the CIDs are byte-identical to Kubo's.

import * as dagPb from '@ipld/dag-pb';
import { BlackHoleBlockstore } from 'blockstore-core/black-hole';
import Busboy from 'busboy';
import { UnixFS } from 'ipfs-unixfs';
import { importer } from 'ipfs-unixfs-importer';
import { fixedSize } from 'ipfs-unixfs-importer/chunker';
import { balanced } from 'ipfs-unixfs-importer/layout';
import { pushable } from 'it-pushable';
import { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';
import { sha256 } from 'multiformats/hashes/sha2';

import { ApiError, ClientError } from './errors.mjs';

/** Kubo's default chunker: size-262144. */
const DEFAULT_CHUNK_SIZE = 262_144;
/** Largest chunk Kubo's classic chunker accepts. */
const MAX_CHUNK_SIZE = 1_048_576;
/** Kubo's balanced layout: at most 174 links per node. */
const MAX_LINKS_PER_NODE = 174;

/** Short names Kubo accepts for add's options. */
export const ADD_ALIASES = { q: 'quiet', Q: 'quieter', n: 'only-hash', w: 'wrap-with-directory', s: 'chunker', t: 'trickle' };

/**
 * Parse `chunker`, as boxo's chunker.FromString does for the fixed-size splitter.
 * @param {string|undefined} spec
 * @returns {number} chunk size in bytes
 * @throws {ApiError} malformed or unsupported chunker
 */
function chunkSize(spec) {
  if (spec === undefined || spec === '' || spec === 'default') {
    return DEFAULT_CHUNK_SIZE;
  }
  const match = /^size-(\d+)$/.exec(spec);
  if (match === null) {
    if (spec.startsWith('rabin') || spec.startsWith('buzhash')) {
      throw new ApiError(`chunker "${spec}" is not supported by this node (use size-N)`);
    }
    throw new ApiError(`unrecognized chunker option: ${spec}`);
  }
  const size = Number(match[1]);
  if (size <= 0) {
    throw new ApiError('chunker size must be greater than 0');
  }
  if (size > MAX_CHUNK_SIZE) {
    throw new ApiError(`chunker parameters may not exceed the maximum chunk size of ${MAX_CHUNK_SIZE}`);
  }
  return size;
}

/**
 * Hash a block, store it, return its CID.
 * @param {Uint8Array} block
 * @param {{put: Function}} blockstore
 * @param {0|1} version
 * @param {number} codec
 */
async function persist(block, blockstore, version, codec) {
  const cid = CID.create(version, codec, await sha256.digest(block));
  await blockstore.put(cid, block);
  return cid;
}

/**
 * The importer's leaf writer, minus one memory cost.
 *
 * The stock buffer importer returns each UnixFS leaf together with its data,
 * and the balanced layout holds a batch of 174 leaves before building their
 * parent: 44 MiB of chunks (more with GC lag) per batch. The parent only needs
 * each leaf's CID, block size and file-byte count, so this writer returns a
 * UnixFS stub that carries the byte count as its only block size; the parent
 * node built from it is byte-identical (the tests check the CIDs).
 * @param {{cidVersion: 0|1, rawLeaves: boolean}} settings
 */
function leanBufferImporter({ cidVersion, rawLeaves }) {
  return async function* bufferImporter(file, blockstore) {
    for await (const chunk of file.content) {
      yield async () => {
        if (rawLeaves) {
          const cid = await persist(chunk, blockstore, 1, raw.code);
          return { cid, size: BigInt(chunk.length), block: chunk };
        }
        const block = dagPb.encode({ Data: new UnixFS({ type: 'file', data: chunk }).marshal(), Links: [] });
        const cid = await persist(block, blockstore, cidVersion, dagPb.code);
        const unixfs = new UnixFS({ type: 'file', blockSizes: [BigInt(chunk.length)] });
        return { cid, size: BigInt(block.length), block, unixfs };
      };
    }
  };
}

/**
 * Read add's options; refuse the ones that would change the result but that
 * this node does not implement, rather than silently ignoring them.
 * @param {import('./options.mjs').Options} opts
 * @throws {ApiError|ClientError}
 */
export function addSettings(opts) {
  const cidVersion = opts.int('cid-version', 0);
  if (cidVersion !== 0 && cidVersion !== 1) {
    throw new ApiError(`unknown CID version: ${cidVersion}`);
  }
  for (const flag of ['trickle', 'nocopy', 'inline', 'preserve-mode', 'preserve-mtime']) {
    if (opts.bool(flag, false)) {
      throw new ApiError(`option "${flag}" is not supported by this node`);
    }
  }
  for (const name of ['mode', 'mtime', 'to-files']) {
    if (opts.has(name)) {
      throw new ApiError(`option "${name}" is not supported by this node`);
    }
  }
  const hash = opts.string('hash', 'sha2-256');
  if (hash !== 'sha2-256') {
    throw new ApiError(`hash function "${hash}" is not supported by this node (sha2-256 only)`);
  }
  return {
    cidVersion,
    // Kubo: raw leaves default on for CIDv1, unless the caller says otherwise.
    rawLeaves: opts.bool('raw-leaves', cidVersion === 1),
    chunkSize: chunkSize(opts.string('chunker', undefined)),
    onlyHash: opts.bool('only-hash', false),
    pin: opts.bool('pin', true),
    wrap: opts.bool('wrap-with-directory', false),
  };
}

/**
 * Turn the multipart body into importer candidates, one per part.
 * @param {import('node:http').IncomingMessage} req
 * @returns {{entries: AsyncIterable<object>, abort: (err: Error) => void, count: () => number}}
 * @throws {ClientError} the body is not multipart/form-data
 */
function multipartEntries(req) {
  let busboy;
  try {
    busboy = Busboy({ headers: req.headers, preservePath: true, highWaterMark: 1 << 20, fileHwm: 1 << 20 });
  } catch (err) {
    throw new ClientError(`add expects a multipart/form-data body with the file(s) as parts: ${err.message}`);
  }
  const entries = pushable({ objectMode: true });
  let parts = 0;
  const fail = (err) => {
    entries.end(err);
    busboy.destroy(err);
  };
  busboy.on('file', (_field, stream, info) => {
    let name;
    try {
      name = decodeURIComponent(info.filename ?? '');
    } catch {
      stream.resume();
      fail(new ClientError(`invalid file name in multipart part: ${info.filename}`));
      return;
    }
    parts++;
    if (info.mimeType === 'application/x-directory') {
      stream.resume();
      entries.push({ path: name });
    } else if (info.mimeType === 'application/symlink') {
      stream.resume();
      fail(new ApiError(`cannot add ${name}: symlinks are not supported by this node`));
    } else {
      entries.push({ path: name, content: stream });
    }
  });
  busboy.on('close', () => entries.end());
  busboy.on('error', (err) => fail(err instanceof ApiError ? err : new ClientError(`cannot parse the multipart body: ${err.message}`)));
  req.on('close', () => {
    if (!req.complete) {
      fail(new ApiError('the client closed the connection before the upload finished'));
    }
  });
  req.pipe(busboy);
  return { entries, abort: fail, count: () => parts };
}

/**
 * Handle `/api/v0/add`: import, answer one NDJSON line per file/directory, pin the roots.
 * @param {import('node:http').IncomingMessage} req
 * @param {import('node:http').ServerResponse} res
 * @param {import('./server.mjs').NodeContext} ctx
 * @param {import('./options.mjs').Options} opts
 * @throws {ApiError} before any output is sent; later failures go into the stream
 */
export async function add(req, res, ctx, opts) {
  const settings = addSettings(opts);
  const { entries, abort, count } = multipartEntries(req);
  const blockstore = settings.onlyHash ? new BlackHoleBlockstore() : ctx.store;
  const results = importer(entries, blockstore, {
    cidVersion: settings.cidVersion,
    rawLeaves: settings.rawLeaves,
    reduceSingleLeafToSelf: true,
    chunker: fixedSize({ chunkSize: settings.chunkSize }),
    layout: balanced({ maxChildrenPerNode: MAX_LINKS_PER_NODE }),
    bufferImporter: leanBufferImporter(settings),
    wrapWithDirectory: settings.wrap,
    // Parts arrive one after the other on one socket: importing them
    // concurrently would wait for a part busboy cannot emit yet.
    fileImportConcurrency: 1,
  });
  const roots = [];
  const started = () => res.headersSent;
  try {
    for await (const entry of results) {
      const isDir = entry.unixfs?.isDirectory() ?? false;
      const name = entry.path ? entry.path : isDir ? '' : entry.cid.toString();
      const topLevel = settings.wrap ? entry.path === '' : !(entry.path ?? '').includes('/');
      if (topLevel) {
        roots.push(entry.cid);
      }
      if (!started()) {
        res.writeHead(200, {
          'Content-Type': 'application/json',
          'X-Chunked-Output': '1',
          Trailer: 'X-Stream-Error',
        });
      }
      res.write(`${JSON.stringify({ Name: name, Hash: entry.cid.toString(), Size: String(entry.size) })}\n`);
    }
    if (count() === 0) {
      throw new ClientError('add found no file in the multipart body: send the content as a part with a filename');
    }
    if (settings.pin && !settings.onlyHash) {
      await ctx.pins.add(roots, true, { dagComplete: true });
    }
  } catch (err) {
    abort(err);
    if (!started()) {
      throw err;
    }
    // Output already went out: report the failure in the stream, as Kubo does.
    const message = err instanceof ApiError ? err.message : String(err.message ?? err);
    res.write(`${JSON.stringify({ Message: message, Code: 0, Type: 'error' })}\n`);
    res.addTrailers({ 'X-Stream-Error': message });
  }
  res.end();
}
