// Parsing of Kubo RPC query parameters (`?arg=...&cid-version=1&...`).
//
// Values follow go-ipfs-cmds: booleans as Go's strconv.ParseBool (a bare flag
// means true), integers in base 10, short aliases (e.g. `n` for `only-hash`).
// A value that does not parse is the caller's fault: ClientError (HTTP 400).

import { ClientError } from './errors.mjs';

const TRUE = new Set(['', '1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** Query options of one request. */
export class Options {
  /**
   * @param {URLSearchParams} params
   * @param {Record<string, string>} [aliases] short name -> long name
   */
  constructor(params, aliases = {}) {
    this.params = params;
    this.aliases = aliases;
  }

  /**
   * Raw value of an option, looked up by its long name or any alias.
   * @param {string} name long name
   * @returns {string|undefined}
   */
  raw(name) {
    if (this.params.has(name)) {
      return this.params.get(name);
    }
    for (const [short, long] of Object.entries(this.aliases)) {
      if (long === name && this.params.has(short)) {
        return this.params.get(short);
      }
    }
    return undefined;
  }

  /** @param {string} name */
  has(name) {
    return this.raw(name) !== undefined;
  }

  /**
   * @param {string} name
   * @param {boolean} fallback value when the option is absent
   * @returns {boolean}
   * @throws {ClientError} the value is not a boolean
   */
  bool(name, fallback) {
    const value = this.raw(name);
    if (value === undefined) {
      return fallback;
    }
    if (TRUE.has(value)) {
      return true;
    }
    if (FALSE.has(value)) {
      return false;
    }
    throw new ClientError(`could not convert value "${value}" to type bool (for option "-${name}")`);
  }

  /**
   * @param {string} name
   * @param {number|undefined} fallback value when the option is absent
   * @returns {number|undefined}
   * @throws {ClientError} the value is not a (safe) integer
   */
  int(name, fallback) {
    const value = this.raw(name);
    if (value === undefined) {
      return fallback;
    }
    if (!/^[+-]?\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
      throw new ClientError(`could not convert value "${value}" to type int (for option "-${name}")`);
    }
    return Number(value);
  }

  /**
   * @param {string} name
   * @param {string|undefined} fallback
   * @returns {string|undefined}
   */
  string(name, fallback) {
    return this.raw(name) ?? fallback;
  }

  /** @returns {string[]} positional arguments (`arg` parameters), in order */
  args() {
    return this.params.getAll('arg');
  }

  /**
   * @param {string} name Kubo's name for the argument, used in the error
   * @returns {string[]} at least one argument
   * @throws {ClientError} no argument was given, as Kubo words it
   */
  requiredArgs(name) {
    const args = this.args();
    if (args.length === 0) {
      throw new ClientError(`argument "${name}" is required`);
    }
    return args;
  }
}
