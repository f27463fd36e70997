// The node's block storage: blockstore-fs on disk, with every read verified.
//
// blockstore-fs (like Kubo's flatfs) trusts the disk. This wrapper re-hashes
// each block it hands out and compares the digest with the CID's multihash,
// so a flipped bit on disk surfaces as a CorruptBlockError naming the CID
// instead of as wrong bytes in a `cat`.

import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

import { FsBlockstore } from 'blockstore-fs';
import { equals } from 'multiformats/bytes';
import { identity } from 'multiformats/hashes/identity';
import { sha256 } from 'multiformats/hashes/sha2';

import { ApiError, BlockNotFoundError, CorruptBlockError } from './errors.mjs';

/** Blocks under `<repo>/blocks`, verified against their CID on every read. */
export class VerifiedBlockstore {
  /** @param {string} directory folder holding the block files */
  constructor(directory) {
    this.fs = new FsBlockstore(directory);
    /** @type {Map<string, Promise<unknown>>} puts in flight, by multihash file name */
    this.writing = new Map();
  }

  /** Create the folder if needed. */
  async open() {
    await this.fs.open();
  }

  /** Nothing is buffered; kept for symmetry with open(). */
  async close() {
    await this.fs.close();
  }

  /**
   * Path of the file that holds a block (blockstore-fs "next-to-last" sharding).
   * @param {import('multiformats/cid').CID} cid
   * @returns {string}
   */
  blockPath(cid) {
    const { dir, file } = this.fs.shardingStrategy.encode(cid);
    return path.join(this.fs.path, dir, file);
  }

  /**
   * Store a block. The importer computed the CID from these bytes itself.
   *
   * Two puts of the same block at once (a file with repeated chunks) share
   * one write: blockstore-fs writes through one temp-file name per block, so
   * concurrent writers could otherwise rename a half-written file into place.
   * A block already on disk is rewritten (atomically), which is how adding
   * the content again repairs a corrupted block.
   * @param {import('multiformats/cid').CID} cid
   * @param {Uint8Array} bytes
   * @param {{signal?: AbortSignal}} [options]
   */
  async put(cid, bytes, options) {
    const file = this.blockPath(cid);
    const pending = this.writing.get(file);
    if (pending !== undefined) {
      await pending;
      return cid;
    }
    const write = this.fs.put(cid, bytes, options);
    this.writing.set(file, write);
    try {
      await write;
    } finally {
      this.writing.delete(file);
    }
    return cid;
  }

  /**
   * @param {import('multiformats/cid').CID} cid
   * @returns {Promise<boolean>} whether the block is stored (identity CIDs always are)
   */
  async has(cid) {
    if (cid.multihash.code === identity.code) {
      return true;
    }
    return this.fs.has(cid);
  }

  /**
   * Read one block and check that it hashes to its CID.
   * @param {import('multiformats/cid').CID} cid
   * @returns {Promise<Uint8Array>}
   * @throws {BlockNotFoundError} the block is not in the repo
   * @throws {CorruptBlockError} the stored bytes do not match the CID's hash
   * @throws {ApiError} the CID uses a hash function this node does not verify
   */
  async getBlock(cid) {
    const { code, digest } = cid.multihash;
    if (code === identity.code) {
      // Inline CID: the "hash" is the content itself.
      return digest;
    }
    if (code !== sha256.code) {
      throw new ApiError(
        `cannot verify block ${cid}: hash function 0x${code.toString(16)} is not supported ` +
          '(this node stores and verifies sha2-256 blocks only)',
      );
    }
    const file = this.blockPath(cid);
    let bytes;
    try {
      bytes = await fs.readFile(file);
    } catch (err) {
      if (err.code === 'ENOENT') {
        throw new BlockNotFoundError(cid);
      }
      throw new ApiError(`cannot read block ${cid} from ${file}: ${err.message}`, { cause: err });
    }
    const actual = createHash('sha256').update(bytes).digest();
    if (!equals(actual, digest)) {
      throw new CorruptBlockError(cid, file);
    }
    return bytes;
  }

  /**
   * The blockstore interface the IPFS exporter expects: a generator of chunks.
   * @param {import('multiformats/cid').CID} cid
   */
  async *get(cid) {
    yield await this.getBlock(cid);
  }
}
