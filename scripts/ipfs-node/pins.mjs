// Pins, persisted in `<repo>/pins.json`.
//
// Semantics follow Kubo's pinner (boxo/pinning): a recursive pin covers a
// whole DAG, a direct pin one block, everything below a recursive pin is
// "indirect". The file is rewritten atomically (temp file, fsync, rename) and
// mutations are serialised, so a crash never leaves half a pin set.

import fs from 'node:fs/promises';
import path from 'node:path';

import { CID } from 'multiformats/cid';

import { descendants } from './dag.mjs';
import { ApiError, RepoError } from './errors.mjs';

const FORMAT = 1;

/** The node's pin set. */
export class PinStore {
  /**
   * @param {string} repoDir repo folder; pins live in `pins.json` inside it
   * @param {import('./blockstore.mjs').VerifiedBlockstore} store
   */
  constructor(repoDir, store) {
    this.file = path.join(repoDir, 'pins.json');
    this.store = store;
    /** @type {Map<string, CID>} */
    this.recursive = new Map();
    /** @type {Map<string, CID>} */
    this.direct = new Map();
    this.queue = Promise.resolve();
  }

  /**
   * Read the pin file (a missing file means no pins yet).
   * @throws {RepoError} the file exists but cannot be parsed
   */
  async load() {
    let text;
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch (err) {
      if (err.code === 'ENOENT') {
        return;
      }
      throw new RepoError(`cannot read pin file ${this.file}: ${err.message}`);
    }
    try {
      const data = JSON.parse(text);
      if (data.format !== FORMAT) {
        throw new Error(`unknown format ${JSON.stringify(data.format)} (expected ${FORMAT})`);
      }
      for (const s of data.recursive) {
        this.recursive.set(s, CID.parse(s));
      }
      for (const s of data.direct) {
        this.direct.set(s, CID.parse(s));
      }
    } catch (err) {
      throw new RepoError(
        `pin file ${this.file} is unreadable: ${err.message}; restore it from a backup ` +
          'or delete it (all content becomes unpinned)',
      );
    }
  }

  /** Write the pin set atomically. */
  async save() {
    const data = { format: FORMAT, recursive: [...this.recursive.keys()], direct: [...this.direct.keys()] };
    const tmp = `${this.file}.tmp-${process.pid}`;
    const handle = await fs.open(tmp, 'w', 0o644);
    try {
      await handle.writeFile(`${JSON.stringify(data, null, 1)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, this.file);
  }

  /**
   * Run one mutation at a time, in arrival order.
   * @template T
   * @param {() => Promise<T>} job
   * @returns {Promise<T>}
   */
  serialise(job) {
    const run = this.queue.then(job, job);
    this.queue = run.then(() => {}, () => {});
    return run;
  }

  /**
   * Pin CIDs. A recursive pin requires the whole DAG to be in the blockstore.
   * @param {CID[]} cids
   * @param {boolean} recursive
   * @param {{dagComplete?: boolean}} [options] the caller just wrote the whole DAG (add)
   * @returns {Promise<CID[]>}
   * @throws {ApiError} a block is missing, or a direct pin is asked for a recursively pinned CID
   */
  add(cids, recursive, { dagComplete = false } = {}) {
    return this.serialise(async () => {
      for (const cid of cids) {
        const key = cid.toString();
        if (recursive) {
          if (!dagComplete) {
            await this.store.getBlock(cid);
            for await (const _ of descendants(cid, this.store)) {
              // Walking fails with a Kubo-shaped error on the first missing block.
            }
          }
          this.direct.delete(key);
          this.recursive.set(key, cid);
        } else {
          if (this.recursive.has(key)) {
            throw new ApiError(`${key} already pinned recursively`);
          }
          await this.store.getBlock(cid);
          this.direct.set(key, cid);
        }
      }
      await this.save();
      return cids;
    });
  }

  /**
   * Remove pins.
   * @param {CID[]} cids
   * @param {boolean} recursive also remove recursive pins
   * @returns {Promise<CID[]>}
   * @throws {ApiError} a CID is not pinned (or only indirectly), or pinned recursively and recursive is false
   */
  rm(cids, recursive) {
    return this.serialise(async () => {
      for (const cid of cids) {
        const key = cid.toString();
        if (this.recursive.has(key)) {
          if (!recursive) {
            throw new ApiError(`${key} is pinned recursively`);
          }
        } else if (!this.direct.has(key)) {
          throw new ApiError('not pinned or pinned indirectly');
        }
      }
      for (const cid of cids) {
        this.recursive.delete(cid.toString());
        this.direct.delete(cid.toString());
      }
      await this.save();
      return cids;
    });
  }

  /**
   * How a CID is pinned, Kubo-style: "recursive", "direct", "indirect through <root>", or null.
   * @param {CID} cid
   * @param {'all'|'recursive'|'direct'|'indirect'} type
   * @returns {Promise<string|null>}
   */
  async pinType(cid, type) {
    const key = cid.toString();
    if ((type === 'all' || type === 'recursive') && this.recursive.has(key)) {
      return 'recursive';
    }
    if ((type === 'all' || type === 'direct') && this.direct.has(key)) {
      return 'direct';
    }
    if (type === 'all' || type === 'indirect') {
      for (const [rootKey, root] of this.recursive) {
        for await (const child of descendants(root, this.store)) {
          if (child.toString() === key) {
            return `indirect through ${rootKey}`;
          }
        }
      }
    }
    return null;
  }

  /**
   * All pins of a type, as Kubo's `pin ls` "Keys" map.
   * @param {'all'|'recursive'|'direct'|'indirect'} type
   * @returns {Promise<Record<string, {Type: string}>>}
   */
  async list(type) {
    const keys = {};
    if (type === 'all' || type === 'recursive') {
      for (const key of this.recursive.keys()) {
        keys[key] = { Type: 'recursive' };
      }
    }
    if (type === 'all' || type === 'indirect') {
      for (const root of this.recursive.values()) {
        for await (const child of descendants(root, this.store)) {
          const key = child.toString();
          if (!(key in keys) && !this.recursive.has(key)) {
            keys[key] = { Type: 'indirect' };
          }
        }
      }
    }
    if (type === 'all' || type === 'direct') {
      for (const key of this.direct.keys()) {
        if (!(key in keys)) {
          keys[key] = { Type: 'direct' };
        }
      }
    }
    return keys;
  }
}
