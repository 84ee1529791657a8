/** The reference back office's errors: a code, the HTTP status it maps to, and the field at fault. */
export type BackOfficeErrorCode = 'BAD_INPUT' | 'NOT_FOUND' | 'CONFLICT' | 'NO_UNIT' | 'UNAUTHENTICATED' | 'FORBIDDEN';

const STATUS: Record<BackOfficeErrorCode, number> = { BAD_INPUT: 400, NOT_FOUND: 404, CONFLICT: 409, NO_UNIT: 409, UNAUTHENTICATED: 401, FORBIDDEN: 403 };

export class BackOfficeError extends Error {
  override readonly name = 'BackOfficeError';
  constructor(
    readonly code: BackOfficeErrorCode,
    message: string,
    /** BAD_INPUT: the field at fault, e.g. `plate` or `phones.0`. */
    readonly field: string | null = null,
  ) {
    super(message);
  }

  get status(): number {
    return STATUS[this.code];
  }
}

export const bad = (field: string, message: string): BackOfficeError => new BackOfficeError('BAD_INPUT', `${field}: ${message}`, field);
