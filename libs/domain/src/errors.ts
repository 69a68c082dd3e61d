/**
 * How a refusal maps at the edge: `conflict` → 409 (the lifecycle forbids it), `not_found` → 404,
 * `invalid` → 400.
 */
export type DomainErrorKind = 'conflict' | 'not_found' | 'invalid';

/** A refused command. `code` is a stable snake_case reason clients may branch on. */
export class DomainError extends Error {
  override readonly name = 'DomainError';

  constructor(
    readonly kind: DomainErrorKind,
    readonly code: string,
    message: string,
    /** The offending input field, for `invalid` refusals (dotted path, e.g. `provider.name`). */
    readonly field?: string,
  ) {
    super(message);
  }

  static conflict(code: string, message: string): DomainError {
    return new DomainError('conflict', code, message);
  }

  static notFound(code: string, message: string): DomainError {
    return new DomainError('not_found', code, message);
  }

  static invalid(code: string, message: string, field?: string): DomainError {
    return new DomainError('invalid', code, message, field);
  }
}

export function isDomainError(error: unknown): error is DomainError {
  return error instanceof DomainError;
}
