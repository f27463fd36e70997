// Reading UnixFS DAGs out of the verified blockstore.
//
// The file reader is pull-based on purpose: ipfs-unixfs-exporter's content()
// pushes leaf data into an unbounded queue as fast as the disk allows, so a
// slow HTTP client would make the node buffer the whole file. Here a block is
// read only when the consumer asks for more bytes (plus a small read-ahead
// window for throughput), which gives real backpressure end to end.

import * as dagPb from '@ipld/dag-pb';
import { UnixFS } from 'ipfs-unixfs';
import { walkPath } from 'ipfs-unixfs-exporter';
import { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';

import { ApiError } from './errors.mjs';

/** Blocks fetched ahead of the reader, per DAG level (256 KiB leaves: ~2 MiB). */
const READ_AHEAD_BLOCKS = 8;

/** Kubo's iface.ErrIsDir wording. */
const IS_DIR_MESSAGE = 'this dag node is a directory';

/**
 * Resolve a Kubo path argument (`CID`, `/ipfs/CID`, `/ipfs/CID/a/b`) to a CID.
 * @param {string} arg the path as the caller sent it
 * @param {import('./blockstore.mjs').VerifiedBlockstore} store
 * @returns {Promise<CID>}
 * @throws {ApiError} invalid path, IPNS path, missing link or missing block
 */
export async function resolvePath(arg, store) {
  let rest = arg;
  if (rest.startsWith('/ipns/')) {
    throw new ApiError(`invalid path "${arg}": this node is offline and cannot resolve IPNS names`);
  }
  if (rest.startsWith('/ipfs/')) {
    rest = rest.slice('/ipfs/'.length);
  } else if (rest.startsWith('/')) {
    throw new ApiError(`invalid path "${arg}": unknown namespace "${rest.split('/')[1]}"`);
  }
  const [root, ...segments] = rest.split('/').filter((s) => s !== '');
  if (root === undefined) {
    throw new ApiError(`invalid path "${arg}": path does not have enough components`);
  }
  let cid;
  try {
    cid = CID.parse(root);
  } catch (err) {
    throw new ApiError(`invalid path "${arg}": invalid cid: ${err.message}`);
  }
  if (segments.length === 0) {
    return cid;
  }
  let last = null;
  try {
    for await (const entry of walkPath(`${cid}/${segments.join('/')}`, store)) {
      last = entry;
    }
  } catch (err) {
    if (err instanceof ApiError) {
      throw err;
    }
    const missing = /^No link "(.*)" found under (\S+)$/.exec(err.message);
    if (missing !== null) {
      // Kubo's wording for a path segment that does not exist.
      throw new ApiError(`no link named "${missing[1]}" under ${missing[2]}`, { cause: err });
    }
    throw new ApiError(`cannot resolve "${arg}": ${err.message}`, { cause: err });
  }
  if (last === null || last.remainder?.length) {
    throw new ApiError(`cannot resolve "${arg}": no link named "${segments.at(-1)}"`);
  }
  return last.cid;
}

/**
 * Decode a dag-pb block and its UnixFS data.
 * @param {CID} cid
 * @param {Uint8Array} bytes
 * @returns {{node: import('@ipld/dag-pb').PBNode, unixfs: UnixFS}}
 * @throws {ApiError} the block is not a UnixFS node
 */
function decodeUnixFS(cid, bytes) {
  try {
    const node = dagPb.decode(bytes);
    if (node.Data === undefined) {
      throw new Error('dag-pb node has no Data field');
    }
    return { node, unixfs: UnixFS.unmarshal(node.Data) };
  } catch (err) {
    throw new ApiError(`block ${cid} is not a UnixFS node: ${err.message}`, { cause: err });
  }
}

/**
 * Size in bytes of the file a CID points to.
 * @param {CID} cid
 * @param {import('./blockstore.mjs').VerifiedBlockstore} store
 * @returns {Promise<number>}
 * @throws {ApiError} the CID is a directory or not a UnixFS file, or its block is missing/corrupt
 */
export async function fileSize(cid, store) {
  const bytes = await store.getBlock(cid);
  if (cid.code === raw.code) {
    return bytes.length;
  }
  if (cid.code !== dagPb.code) {
    throw new ApiError('operation not supported');
  }
  const { unixfs } = decodeUnixFS(cid, bytes);
  if (unixfs.isDirectory()) {
    throw new ApiError(IS_DIR_MESSAGE);
  }
  if (unixfs.type !== 'file' && unixfs.type !== 'raw') {
    throw new ApiError(`operation not supported: ${cid} is a UnixFS ${unixfs.type}`);
  }
  return Number(unixfs.fileSize());
}

/**
 * Bytes of `data` (which starts at file offset `at`) that fall in [start, end).
 * @param {Uint8Array} data
 * @param {number} at
 * @param {number} start
 * @param {number} end
 */
function overlap(data, at, start, end) {
  const from = Math.max(at, start);
  const to = Math.min(at + data.length, end);
  return to > from ? data.subarray(from - at, to - at) : null;
}

/**
 * Start fetching the next blocks while earlier ones are being consumed.
 * @param {import('./blockstore.mjs').VerifiedBlockstore} store
 * @param {CID[]} cids
 * @returns {Array<() => Promise<Uint8Array>>} one getter per CID, in order
 */
function readAhead(store, cids) {
  const started = new Map();
  const start = (i) => {
    if (i < cids.length && !started.has(i)) {
      const promise = store.getBlock(cids[i]);
      // Failures surface when the getter is awaited; never as unhandled rejections.
      promise.catch(() => {});
      started.set(i, promise);
    }
  };
  return cids.map((_, i) => () => {
    for (let j = i; j < i + READ_AHEAD_BLOCKS; j++) {
      start(j);
    }
    const promise = started.get(i);
    started.delete(i);
    return promise;
  });
}

/**
 * Yield the file bytes in [start, end) held by one DAG node and its children.
 * @returns {AsyncGenerator<Uint8Array, number>} the node's whole file size as return value
 */
async function* readNode(store, cid, bytes, at, start, end) {
  if (cid.code === raw.code) {
    const part = overlap(bytes, at, start, end);
    if (part !== null) {
      yield part;
    }
    return bytes.length;
  }
  if (cid.code !== dagPb.code) {
    throw new ApiError(`block ${cid} has codec 0x${cid.code.toString(16)}, which cannot be part of a UnixFS file`);
  }
  const { node, unixfs } = decodeUnixFS(cid, bytes);
  if (unixfs.isDirectory()) {
    throw new ApiError(IS_DIR_MESSAGE);
  }
  if (node.Links.length !== unixfs.blockSizes.length) {
    throw new ApiError(`UnixFS node ${cid} is malformed: ${node.Links.length} links but ${unixfs.blockSizes.length} block sizes`);
  }
  let position = at;
  if (unixfs.data !== undefined && unixfs.data.length > 0) {
    const part = overlap(unixfs.data, position, start, end);
    if (part !== null) {
      yield part;
    }
    position += unixfs.data.length;
  }
  const wanted = [];
  for (let i = 0; i < node.Links.length; i++) {
    const size = Number(unixfs.blockSizes[i]);
    if (position < end && position + size > start) {
      wanted.push({ cid: node.Links[i].Hash, at: position, size });
    }
    position += size;
  }
  const getters = readAhead(store, wanted.map((w) => w.cid));
  for (let i = 0; i < wanted.length; i++) {
    const child = wanted[i];
    const childBytes = await getters[i]();
    const childSize = yield* readNode(store, child.cid, childBytes, child.at, start, end);
    if (childSize !== child.size) {
      throw new ApiError(`UnixFS node ${cid} is malformed: child ${child.cid} holds ${childSize} bytes, parent says ${child.size}`);
    }
  }
  return Number(unixfs.fileSize());
}

/**
 * Stream the bytes [offset, offset + length) of a UnixFS file, verifying every block.
 * @param {CID} cid root of the file
 * @param {import('./blockstore.mjs').VerifiedBlockstore} store
 * @param {number} offset first byte, 0 <= offset <= file size
 * @param {number} length bytes to read; the caller clamps it to the file size
 * @returns {AsyncGenerator<Uint8Array>}
 * @throws {ApiError} missing or corrupted block, directory, malformed DAG
 */
export async function* readFile(cid, store, offset, length) {
  if (length <= 0) {
    return;
  }
  const end = offset + length;
  const rootBytes = await store.getBlock(cid);
  let sent = 0;
  for await (const chunk of readNode(store, cid, rootBytes, 0, offset, end)) {
    sent += chunk.length;
    yield chunk;
  }
  if (sent !== length) {
    throw new ApiError(`UnixFS file ${cid} is malformed: read ${sent} bytes, expected ${length}`);
  }
}

/**
 * CIDs linked from a block.
 * @param {CID} cid
 * @param {Uint8Array} bytes
 * @returns {CID[]}
 * @throws {ApiError} the codec is one this node cannot walk
 */
function links(cid, bytes) {
  if (cid.code === raw.code) {
    return [];
  }
  if (cid.code === dagPb.code) {
    return dagPb.decode(bytes).Links.map((link) => link.Hash);
  }
  throw new ApiError(`cannot walk block ${cid}: codec 0x${cid.code.toString(16)} is not supported (dag-pb and raw only)`);
}

/**
 * Every CID below `root` (not `root` itself), each once, reading and verifying
 * every block that can have links. Raw leaves are checked for presence only.
 * @param {CID} root
 * @param {import('./blockstore.mjs').VerifiedBlockstore} store
 * @param {{verifyLeaves?: boolean}} [options] also read and hash raw leaves
 * @returns {AsyncGenerator<CID>}
 * @throws {ApiError} a block is missing, corrupted or of an unsupported codec
 */
export async function* descendants(root, store, { verifyLeaves = false } = {}) {
  const seen = new Set([root.toString()]);
  const stack = [root];
  while (stack.length > 0) {
    const cid = stack.pop();
    let children;
    if (cid.code === raw.code) {
      if (verifyLeaves) {
        await store.getBlock(cid);
      } else if (!(await store.has(cid))) {
        await store.getBlock(cid); // throws the Kubo-shaped "not found" error
      }
      children = [];
    } else {
      children = links(cid, await store.getBlock(cid));
    }
    for (const child of children) {
      const key = child.toString();
      if (!seen.has(key)) {
        seen.add(key);
        stack.push(child);
        yield child;
      }
    }
  }
}
