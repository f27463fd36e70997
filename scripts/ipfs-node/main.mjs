#!/usr/bin/env node
// FLEP Registry's local IPFS node: the Kubo RPC API on loopback, offline.
//
//   node scripts/ipfs-node/main.mjs --repo DIR [--host 127.0.0.1] [--port N]
//
// Prints `RPC API server listening on /ip4/127.0.0.1/tcp/PORT` on stdout when
// ready and writes the same multiaddr to DIR/api (as Kubo does); --port 0 picks
// a free port. SIGTERM/SIGINT: stop accepting, let running requests finish
// (aborting them after a grace period), remove DIR/api and the lock, exit 0.
// It never opens an outgoing connection: no libp2p, no bootstrap, no DHT.

import { isIP } from 'node:net';
import { parseArgs } from 'node:util';

import { VerifiedBlockstore } from './blockstore.mjs';
import { RepoError } from './errors.mjs';
import { PinStore } from './pins.mjs';
import { Repo } from './repo.mjs';
import { createApiServer } from './server.mjs';

/** How long running requests may take to finish after SIGTERM. */
const SHUTDOWN_GRACE_MS = 3000;
const EXIT_USAGE = 2;
const EXIT_FAILURE = 1;

const USAGE = 'usage: node scripts/ipfs-node/main.mjs --repo DIR [--host 127.0.0.1] [--port 5001]';

/** @param {string} message */
function die(message, code = EXIT_FAILURE) {
  process.stderr.write(`ipfs-node: ${message}\n`);
  process.exit(code);
}

/**
 * Host to listen on, as an IP, if it is a loopback address.
 * @param {string} host
 * @returns {{address: string, multiaddr: (port: number) => string}|null}
 */
function loopback(host) {
  const address = host === 'localhost' ? '127.0.0.1' : host;
  if (isIP(address) === 4 && address.startsWith('127.')) {
    return { address, multiaddr: (port) => `/ip4/${address}/tcp/${port}` };
  }
  if (address === '::1') {
    return { address, multiaddr: (port) => `/ip6/::1/tcp/${port}` };
  }
  return null;
}

/** @returns {{repo: string, host: {address: string, multiaddr: (port: number) => string}, port: number}} */
function parseCommandLine() {
  let values;
  try {
    ({ values } = parseArgs({
      options: { repo: { type: 'string' }, host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string', default: '5001' } },
      strict: true,
    }));
  } catch (err) {
    die(`${err.message}\n${USAGE}`, EXIT_USAGE);
  }
  if (values.repo === undefined || values.repo === '') {
    die(`--repo is required\n${USAGE}`, EXIT_USAGE);
  }
  const host = loopback(values.host);
  if (host === null) {
    die(
      `refusing to listen on ${values.host}: this node serves the RPC API on loopback only ` +
        '(use 127.0.0.1 or ::1)',
      EXIT_USAGE,
    );
  }
  const port = Number(values.port);
  if (!/^\d+$/.test(values.port) || port > 65535) {
    die(`invalid --port ${values.port}: give a TCP port 0-65535 (0 picks a free one)`, EXIT_USAGE);
  }
  return { repo: values.repo, host, port };
}

async function main() {
  const args = parseCommandLine();
  const repo = new Repo(args.repo);
  /** @type {import('node:http').Server|null} */
  let server = null;
  /** @type {VerifiedBlockstore|null} */
  let store = null;
  /** @type {PinStore|null} */
  let pins = null;
  let stopping = false;
  // Handlers go in before anything else: a SIGTERM that arrives while the
  // node is still starting must clean up too, not kill it with the lock held.
  const shutdown = async (signal) => {
    if (stopping) {
      // A second signal: stop waiting for running requests.
      server?.closeAllConnections();
      return;
    }
    stopping = true;
    process.stderr.write(`ipfs-node: ${signal} received, shutting down\n`);
    if (server?.listening) {
      const closed = new Promise((resolve) => server.close(resolve));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
      await closed;
      clearTimeout(timer);
    }
    await pins?.queue;
    await store?.close();
    await repo.release();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  try {
    await repo.open();
  } catch (err) {
    die(err instanceof RepoError ? err.message : `cannot open repo ${args.repo}: ${err.message}`);
  }
  store = new VerifiedBlockstore(repo.blocksDir);
  pins = new PinStore(repo.dir, store);
  try {
    await store.open();
    await pins.load();
  } catch (err) {
    await repo.release();
    die(err.message);
  }
  if (stopping) {
    return;
  }

  server = createApiServer({ repo, store, pins });
  try {
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(args.port, args.host.address, resolve);
    });
  } catch (err) {
    await repo.release();
    if (err.code === 'EADDRINUSE') {
      die(
        `cannot serve the RPC API on ${args.host.address}:${args.port}: port ${args.port} is already in use ` +
          '(another IPFS node or program listens there); stop it or pass another --port (0 picks a free one)',
      );
    }
    die(`cannot listen on ${args.host.address}:${args.port}: ${err.message}`);
  }
  if (stopping) {
    return;
  }
  const multiaddr = args.host.multiaddr(server.address().port);
  await repo.writeApiFile(multiaddr);
  process.stderr.write(`ipfs-node: repo ${repo.dir}, peer ID ${repo.identity.peerId}, offline (no libp2p)\n`);
  process.stdout.write(`RPC API server listening on ${multiaddr}\n`);
}

await main();
