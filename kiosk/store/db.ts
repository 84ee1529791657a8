import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { chmod, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import sqlite3 from 'sqlite3';
import { moduleLogger, type Logger } from '../logging.js';
import { Mutex } from './connection-mutex.js';
import { StoreError } from './errors.js';
import { migrate, MIGRATIONS, type Migration } from './migrations.js';
import { makePrivate, tightenSidecars } from './private-files.js';
import { fsyncPath, openConnection, rawAll, rawBackup, rawExec, rawGet, rawRun } from './sqlite-calls.js';

/**
 * A promise wrapper over one `sqlite3` connection.
 *
 * One connection is shared by the whole process, and SQLite transactions belong to the
 * connection, not to the caller: a statement issued while someone else's transaction is open
 * would silently become part of it (and vanish with its rollback). So every operation takes an
 * internal mutex; a transaction holds it from BEGIN to COMMIT/ROLLBACK, and the `tx` handed to
 * its callback is the only way in meanwhile. Calling `db.*` from inside that callback would
 * wait on itself forever. Three defences:
 * - `nestingCheck` (on by default: the tests, the tools): each transaction's async call chain
 *   is marked (AsyncLocalStorage), and such a call is refused at once with DB_USED_INSIDE_TX.
 *   On Node 20 that mark costs every promise made anywhere in the process its async hooks: a
 *   fifth of a 10,000-command snapshot's time (docs/performance.md). The service turns it off
 *   (SERVICE_DB, kiosk/main.ts); the suite runs the locker's code with it on.
 * - Always: a call waiting behind a holder that has held the connection for more than
 *   `maxHoldWaitMs` (10 s; a transaction takes milliseconds) gives up with DB_WAIT_TIMEOUT, as
 *   SQLite's own busy_timeout does. A call waiting on its own transaction thus fails after the
 *   limit instead of never; its transaction rolls back and the connection is free again.
 * - Always: `heldForMs()`, how long the current holder has held the connection. The systemd
 *   watchdog is not fed while that passes its limit (kiosk/watchdog.ts), so a statement that
 *   never returns ends in a restart rather than a locker that looks alive.
 */

/** What may be bound to a `?` (positional array) or a `$name` (object with prefixed keys). */
export type SqlValue = string | number | bigint | Buffer | null;
export type SqlParams = readonly SqlValue[] | Readonly<Record<string, SqlValue>>;

export interface RunResult {
  changes: number;
  lastID: number;
}

/** What repositories read through: the Db itself, or a Tx inside a transaction. */
export interface Queryable {
  run(sql: string, params?: SqlParams): Promise<RunResult>;
  get<T>(sql: string, params?: SqlParams): Promise<T | undefined>;
  all<T>(sql: string, params?: SqlParams): Promise<T[]>;
}

/**
 * The handle inside `db.transaction()`. The `inTransaction` mark keeps a Db from being passed
 * where a Tx is required, so write methods cannot be called outside a transaction by mistake.
 * Using a Tx after its transaction ended rejects with TX_FINISHED.
 */
export interface Tx extends Queryable {
  readonly inTransaction: true;
  exec(sql: string): Promise<void>;
  /**
   * Whether another call waits for the connection now. Work that could go on in this
   * transaction (the next round of a snapshot) commits instead, so the wait stays short.
   */
  othersWaiting(): boolean;
}

export interface Db extends Queryable {
  readonly path: string;
  /** How long the current holder (a statement or a whole transaction) has held the connection, in ms; 0 when it is free. */
  heldForMs(): number;
  /** Runs several `;`-separated statements without parameters. */
  exec(sql: string): Promise<void>;
  /** BEGIN IMMEDIATE, `fn(tx)`, COMMIT; ROLLBACK and rethrow if `fn` (or COMMIT) throws. */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /**
   * A consistent copy through SQLite's online backup API, written beside `destPath` and renamed
   * into place (then the directory is fsynced), so a power cut leaves the old copy or the new,
   * never half of one. Other operations wait while it runs; the locker's database is small.
   */
  backup(destPath: string): Promise<void>;
  /** Waits for queued work, then closes. Later calls reject with DB_CLOSED. Idempotent. */
  close(): Promise<void>;
}

export interface OpenOptions {
  /** The migrations to apply; tests pass a prefix to build an older schema. */
  migrations?: readonly Migration[];
  /** Refuse `db.*` inside the same connection's transaction at once (DB_USED_INSIDE_TX); default true. See the top of this file. */
  nestingCheck?: boolean;
  /** Milliseconds of a monotonic clock, for heldForMs (tests pass a fake). */
  monotonicMs?: () => number;
  /** A call gives up (DB_WAIT_TIMEOUT) once the holder it waits behind has held the connection this long; default MAX_HOLD_WAIT_MS. */
  maxHoldWaitMs?: number;
}

/** How long one holder may keep a waiting call waiting (see the top of this file). */
export const MAX_HOLD_WAIT_MS = 10_000;

/**
 * How the service opens its database (kiosk/main.ts), and so how the benches do: without the
 * at-once nesting check, whose async hooks cost every promise on Node 20 (top of this file).
 */
export const SERVICE_DB: Readonly<Pick<OpenOptions, 'nestingCheck'>> = { nestingCheck: false };

const CONNECTION_PRAGMAS = `
  PRAGMA journal_mode=WAL;
  PRAGMA synchronous=FULL;
  PRAGMA busy_timeout=5000;
  PRAGMA foreign_keys=ON;
`;

/**
 * The oldest SQLite the store runs on: 3.45 brought jsonb_each, which a batch's INSERTs read
 * their rows from (reservations.insertMany); `->>` (3.38) and NULLS LAST (3.30) came earlier.
 * The sqlite3 module bundles its own SQLite (3.52 in the lock file's version) unless it was
 * built against the system's, which is the case this guards against.
 */
export const SQLITE_MIN_VERSION = '3.45.0';

/** Null when `version` ("3.45.1") is at least SQLITE_MIN_VERSION, else what is wrong, in words. */
export function sqliteVersionProblem(version: string): string | null {
  const parse = (text: string): number[] | null => (/^\d+\.\d+\.\d+$/.test(text) ? text.split('.').map(Number) : null);
  const found = parse(version);
  const min = parse(SQLITE_MIN_VERSION) as number[];
  if (!found) return `the sqlite3 module reports SQLite version "${version}", which is not a version`;
  for (let i = 0; i < 3; i += 1) {
    const a = found[i] as number;
    const b = min[i] as number;
    if (a !== b) return a > b ? null : `SQLite ${version} is too old: the store needs ${SQLITE_MIN_VERSION} or newer (rebuild the sqlite3 module with its bundled SQLite: npm rebuild sqlite3)`;
  }
  return null;
}

/** Opens (creating if needed) the database at `path`, sets the pragmas and migrates it. */
export async function openDatabase(path: string, logger: Logger, options: OpenOptions = {}): Promise<Db> {
  const log = moduleLogger(logger, 'kiosk:store');
  const inMemory = path === ':memory:';
  if (!inMemory) await makePrivate(path, log);
  const db = new SqliteDb(await openConnection(path), path, log, {
    nestingCheck: options.nestingCheck ?? true,
    mutex: new Mutex(options.monotonicMs ?? (() => performance.now()), options.maxHoldWaitMs ?? MAX_HOLD_WAIT_MS),
  });
  try {
    const { version } = (await db.get<{ version: string }>('SELECT sqlite_version() AS version')) ?? { version: '' };
    const problem = sqliteVersionProblem(version);
    if (problem) throw new StoreError('SQLITE_TOO_OLD', problem);
    await db.exec(CONNECTION_PRAGMAS);
    if (!inMemory) await tightenSidecars(path);
    const mode = await db.get<{ journal_mode: string }>('PRAGMA journal_mode');
    if (!inMemory && mode?.journal_mode !== 'wal') {
      log.warn({ journalMode: mode?.journal_mode }, 'database is not in WAL mode; commits may be slower');
    }
    await migrate(db, { migrations: options.migrations ?? MIGRATIONS, logger: log });
    if (!inMemory) await tightenSidecars(path);
  } catch (error) {
    await db.close().catch(() => undefined);
    throw error;
  }
  return db;
}

interface TxState {
  open: boolean;
}

class SqliteDb implements Db {
  readonly #raw: sqlite3.Database;
  readonly #log: Logger;
  readonly #mutex: Mutex;
  /** Which transaction, if any, the current async call chain runs inside; null without the nesting check. */
  readonly #context: AsyncLocalStorage<TxState> | null;
  #closing: Promise<void> | null = null;

  constructor(
    raw: sqlite3.Database,
    readonly path: string,
    log: Logger,
    options: { nestingCheck: boolean; mutex: Mutex },
  ) {
    this.#raw = raw;
    this.#log = log;
    this.#mutex = options.mutex;
    this.#context = options.nestingCheck ? new AsyncLocalStorage<TxState>() : null;
  }

  heldForMs(): number {
    return this.#mutex.heldForMs();
  }

  run(sql: string, params?: SqlParams): Promise<RunResult> {
    return this.#locked(() => rawRun(this.#raw, sql, params));
  }

  get<T>(sql: string, params?: SqlParams): Promise<T | undefined> {
    return this.#locked(() => rawGet<T>(this.#raw, sql, params));
  }

  all<T>(sql: string, params?: SqlParams): Promise<T[]> {
    return this.#locked(() => rawAll<T>(this.#raw, sql, params));
  }

  exec(sql: string): Promise<void> {
    return this.#locked(() => rawExec(this.#raw, sql));
  }

  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.#locked(async () => {
      const state: TxState = { open: true };
      await rawExec(this.#raw, 'BEGIN IMMEDIATE');
      try {
        const tx = createTx(this.#raw, state, () => this.#mutex.waiting() > 0);
        const result = await (this.#context ? this.#context.run(state, () => fn(tx)) : fn(tx));
        state.open = false;
        await rawExec(this.#raw, 'COMMIT');
        return result;
      } catch (error) {
        state.open = false;
        // After a failed COMMIT SQLite may or may not still be inside the transaction.
        await rawExec(this.#raw, 'ROLLBACK').catch((rollbackError: unknown) => {
          this.#log.debug({ err: rollbackError }, 'rollback after failure did not apply');
        });
        throw error;
      }
    });
  }

  backup(destPath: string): Promise<void> {
    return this.#locked(async () => {
      const target = resolve(destPath);
      const dir = dirname(target);
      const temp = join(dir, `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
      try {
        await rawBackup(this.#raw, temp);
        await chmod(temp, 0o600); // a copy holds what the database holds
        await fsyncPath(temp, 'r+');
        await rename(temp, target);
        await fsyncPath(dir, 'r');
      } catch (error) {
        await rm(temp, { force: true });
        await rm(`${temp}-journal`, { force: true });
        throw error;
      }
    });
  }

  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    try {
      this.#assertNotInsideTransaction();
    } catch (error) {
      return Promise.reject(error);
    }
    this.#closing = (async () => {
      const release = await this.#mutex.acquire();
      try {
        await new Promise<void>((resolvePromise, reject) => {
          this.#raw.close((error) => (error ? reject(error) : resolvePromise()));
        });
      } finally {
        release();
      }
    })();
    return this.#closing;
  }

  async #locked<T>(work: () => Promise<T>): Promise<T> {
    if (this.#closing) throw new StoreError('DB_CLOSED', `database ${this.path} is closed`);
    this.#assertNotInsideTransaction();
    const release = await this.#mutex.acquire();
    try {
      return await work();
    } finally {
      release();
    }
  }

  #assertNotInsideTransaction(): void {
    if (this.#context?.getStore()?.open) {
      throw new StoreError(
        'DB_USED_INSIDE_TX',
        'the database was used directly inside its own transaction (this would deadlock): use the tx passed to the callback',
      );
    }
  }
}

function createTx(raw: sqlite3.Database, state: TxState, othersWaiting: () => boolean): Tx {
  const assertOpen = (): void => {
    if (!state.open) throw new StoreError('TX_FINISHED', 'transaction already committed or rolled back');
  };
  return {
    inTransaction: true,
    async run(sql, params) {
      assertOpen();
      return rawRun(raw, sql, params);
    },
    async get<T>(sql: string, params?: SqlParams) {
      assertOpen();
      return rawGet<T>(raw, sql, params);
    },
    async all<T>(sql: string, params?: SqlParams) {
      assertOpen();
      return rawAll<T>(raw, sql, params);
    },
    async exec(sql) {
      assertOpen();
      return rawExec(raw, sql);
    },
    othersWaiting,
  };
}
