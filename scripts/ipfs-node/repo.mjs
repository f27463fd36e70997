// The node's repo folder: lock, identity, API address file.
//
//   <repo>/repo.lock   pid of the node that owns the repo (one node per repo)
//   <repo>/repo.json   format version and the node identity (Ed25519 key), mode 0600
//   <repo>/api         the RPC API multiaddr while the node runs (as Kubo writes it)
//   <repo>/blocks/     blockstore-fs blocks
//   <repo>/pins.json   pin set (see pins.mjs)

import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';

import { base58btc } from 'multiformats/bases/base58';
import { identity } from 'multiformats/hashes/identity';

import { RepoError } from './errors.mjs';

const FORMAT = 1;
/** libp2p crypto.proto KeyType.Ed25519 */
const KEY_TYPE_ED25519 = 1;

/**
 * libp2p protobuf key envelope: field 1 KeyType (varint), field 2 Data (bytes).
 * @param {Uint8Array} data raw key bytes (32 public, 64 private)
 * @returns {Uint8Array}
 */
function keyEnvelope(data) {
  return Uint8Array.from([0x08, KEY_TYPE_ED25519, 0x12, data.length, ...data]);
}

/**
 * libp2p peer ID of an Ed25519 public key: base58btc of the identity multihash
 * of the protobuf-encoded public key (the familiar "12D3KooW..." form).
 * @param {Uint8Array} publicKey 32 bytes
 * @returns {{peerId: string, publicKeyProto: Uint8Array}}
 */
function peerIdOf(publicKey) {
  const publicKeyProto = keyEnvelope(publicKey);
  return { peerId: base58btc.baseEncode(identity.digest(publicKeyProto).bytes), publicKeyProto };
}

const fromB64url = (s) => new Uint8Array(Buffer.from(s, 'base64url'));

/** Make a new Ed25519 identity in Kubo's config format (PeerID + base64 PrivKey). */
function newIdentity() {
  const { privateKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' });
  const seed = fromB64url(jwk.d);
  const pub = fromB64url(jwk.x);
  return {
    PeerID: peerIdOf(pub).peerId,
    PrivKey: Buffer.from(keyEnvelope(Uint8Array.from([...seed, ...pub]))).toString('base64'),
  };
}

/**
 * Check a stored identity and derive its public parts.
 * @param {{PeerID: string, PrivKey: string}} ident
 * @returns {{peerId: string, publicKey: string}} peer ID and base64 protobuf public key
 */
function openIdentity(ident) {
  const envelope = new Uint8Array(Buffer.from(String(ident.PrivKey), 'base64'));
  if (envelope.length !== 68 || envelope[0] !== 0x08 || envelope[1] !== KEY_TYPE_ED25519) {
    throw new Error('PrivKey is not a libp2p Ed25519 private key');
  }
  const seed = envelope.subarray(4, 36);
  const key = createPrivateKey({
    key: { kty: 'OKP', crv: 'Ed25519', d: Buffer.from(seed).toString('base64url'), x: Buffer.from(envelope.subarray(36)).toString('base64url') },
    format: 'jwk',
  });
  const pub = fromB64url(createPublicKey(key).export({ format: 'jwk' }).x);
  const { peerId, publicKeyProto } = peerIdOf(pub);
  if (peerId !== ident.PeerID) {
    throw new Error(`PeerID ${ident.PeerID} does not match the private key (which gives ${peerId})`);
  }
  return { peerId, publicKey: Buffer.from(publicKeyProto).toString('base64') };
}

/**
 * Whether a pid belongs to a live IPFS node process.
 * @param {number} pid
 */
function nodeIsAlive(pid) {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return err.code === 'EPERM';
  }
  try {
    // A recycled pid that now runs something else leaves the lock stale.
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('main.mjs');
  } catch {
    return true; // no /proc: trust kill(0)
  }
}

/** An opened repo: the lock is held until release(). */
export class Repo {
  /** @param {string} dir */
  constructor(dir) {
    this.dir = path.resolve(dir);
    this.lockFile = path.join(this.dir, 'repo.lock');
    this.apiFile = path.join(this.dir, 'api');
    this.blocksDir = path.join(this.dir, 'blocks');
    this.locked = false;
    this.apiAddress = null;
    /** @type {{peerId: string, publicKey: string}|null} */
    this.identity = null;
  }

  /**
   * Create the folder if needed, take the lock, load or create the identity.
   * @throws {RepoError} another live node holds the lock, or repo.json is unusable
   */
  async open() {
    await fs.mkdir(this.dir, { recursive: true });
    await this.lock();
    try {
      this.identity = await this.loadConfig();
    } catch (err) {
      await this.release();
      throw err;
    }
  }

  /** @throws {RepoError} */
  async lock() {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await fs.writeFile(this.lockFile, `${process.pid}\n`, { flag: 'wx' });
        this.locked = true;
        return;
      } catch (err) {
        if (err.code !== 'EEXIST') {
          throw new RepoError(`cannot create lock file ${this.lockFile}: ${err.message}`);
        }
      }
      const pid = Number.parseInt(await fs.readFile(this.lockFile, 'utf8').catch(() => ''), 10);
      if (Number.isInteger(pid) && pid !== process.pid && nodeIsAlive(pid)) {
        throw new RepoError(
          `repo ${this.dir} is in use by another IPFS node (pid ${pid}, lock file ${this.lockFile}); ` +
            'stop that node first or start this one with another --repo',
        );
      }
      // Left behind by a node that crashed: take the repo over.
      process.stderr.write(`removing stale lock ${this.lockFile} (pid ${Number.isNaN(pid) ? '?' : pid} is gone)\n`);
      await fs.rm(this.lockFile, { force: true });
    }
    throw new RepoError(`cannot take the lock ${this.lockFile}: another node keeps recreating it`);
  }

  /** @returns {Promise<{peerId: string, publicKey: string}>} */
  async loadConfig() {
    const file = path.join(this.dir, 'repo.json');
    let text = null;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (err) {
      if (err.code !== 'ENOENT') {
        throw new RepoError(`cannot read ${file}: ${err.message}`);
      }
    }
    if (text === null) {
      const config = { format: FORMAT, Identity: newIdentity() };
      const tmp = `${file}.tmp-${process.pid}`;
      await fs.writeFile(tmp, `${JSON.stringify(config, null, 1)}\n`, { mode: 0o600 });
      await fs.rename(tmp, file);
      return openIdentity(config.Identity);
    }
    try {
      const config = JSON.parse(text);
      if (config.format !== FORMAT) {
        throw new Error(`unknown repo format ${JSON.stringify(config.format)} (this node reads format ${FORMAT})`);
      }
      return openIdentity(config.Identity);
    } catch (err) {
      throw new RepoError(`repo config ${file} is unusable: ${err.message}; point --repo at a fresh folder`);
    }
  }

  /**
   * Record the API address the way Kubo does, so tools can find the node.
   * @param {string} multiaddr e.g. /ip4/127.0.0.1/tcp/5001
   */
  async writeApiFile(multiaddr) {
    const tmp = `${this.apiFile}.tmp-${process.pid}`;
    await fs.writeFile(tmp, multiaddr);
    // Set first: a shutdown racing with the rename must still remove the file.
    this.apiAddress = multiaddr;
    await fs.rename(tmp, this.apiFile);
  }

  /** Remove the api file (if it is still ours) and the lock. */
  async release() {
    if (this.apiAddress !== null) {
      const current = await fs.readFile(this.apiFile, 'utf8').catch(() => null);
      if (current === this.apiAddress) {
        await fs.rm(this.apiFile, { force: true });
      }
      this.apiAddress = null;
    }
    if (this.locked) {
      await fs.rm(this.lockFile, { force: true });
      this.locked = false;
    }
  }
}
