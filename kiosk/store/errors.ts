/**
 * Errors raised by the store. Each carries a stable `code` so callers decide without parsing
 * messages. Messages name tables, versions and ids, never a row's personal data.
 */

export type StoreErrorCode =
  | 'DB_CLOSED' // an operation after close()
  | 'TX_FINISHED' // a Tx used after its transaction committed or rolled back
  | 'DB_USED_INSIDE_TX' // db.* (or a nested transaction) called from inside db.transaction(): use tx
  | 'DB_WAIT_TIMEOUT' // waited behind one holder of the database past the limit (one waiting on itself, or a statement that does not return)
  | 'SCHEMA_TOO_NEW' // the database was migrated by a newer version of the code
  | 'SQLITE_TOO_OLD' // the SQLite the sqlite3 module was built with lacks what the store uses
  | 'MIGRATIONS_INVALID' // the migration list itself is malformed (a programming error)
  | 'NOT_FOUND' // a write addressed a row that does not exist
  | 'ROW_INVALID' // a stored value does not decode (corrupt or hand-edited row)
  | 'KEY_FILE_INVALID'; // the mechanic token key file is unreadable, too open or too short

export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isStoreError(value: unknown): value is StoreError {
  return value instanceof StoreError;
}
