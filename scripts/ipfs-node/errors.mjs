// Errors the RPC API turns into Kubo-shaped responses.
//
// Kubo answers a failed command with an HTTP status and the JSON body
// {"Message": ..., "Code": ..., "Type": "error"}: Code 0 (ErrNormal, HTTP 500)
// when the command ran and failed, Code 1 (ErrClient, HTTP 400) when the
// request itself was malformed (missing argument, unparsable option).

/** A command failed while running: HTTP 500, Code 0, like Kubo's ErrNormal. */
export class ApiError extends Error {
  /**
   * @param {string} message Kubo-like message, shown to the caller as "Message".
   * @param {{status?: number, code?: number, cause?: unknown}} [options]
   */
  constructor(message, { status = 500, code = 0, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

/** The request was malformed: HTTP 400, Code 1, like Kubo's ErrClient. */
export class ClientError extends ApiError {
  /** @param {string} message */
  constructor(message) {
    super(message, { status: 400, code: 1 });
    this.name = 'ClientError';
  }
}

/** A block is absent from the local blockstore (the node never fetches from peers). */
export class BlockNotFoundError extends ApiError {
  /** @param {import('multiformats/cid').CID} cid */
  constructor(cid) {
    // Kubo's wording when it runs offline.
    super(`block was not found locally (offline): ipld: could not find ${cid}`);
    this.name = 'BlockNotFoundError';
    this.cid = cid;
  }
}

/** A block on disk does not hash to its CID: the repo is corrupted. */
export class CorruptBlockError extends ApiError {
  /**
   * @param {import('multiformats/cid').CID} cid
   * @param {string} path file holding the bad block
   */
  constructor(cid, path) {
    super(
      `block ${cid} is corrupted on disk: its content does not hash to its CID ` +
        `(file ${path}); add the original content again to repair it`,
    );
    this.name = 'CorruptBlockError';
    this.cid = cid;
    this.path = path;
  }
}

/** The repo cannot be opened (locked by another node, unreadable, wrong format). */
export class RepoError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = 'RepoError';
  }
}
