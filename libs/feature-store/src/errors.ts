/**
 * Bad input; `field` names the offending value (e.g. `interactions[3].value`). Same shape and
 * `name` as @warmstart/core's ValidationError, so apps map both to INVALID_ARGUMENT.
 */
export class ValidationError extends Error {
  constructor(
    readonly field: string,
    readonly detail: string,
  ) {
    super(`${field}: ${detail}`);
    this.name = 'ValidationError';
  }
}

/** A record that does not exist (maps to NOT_FOUND). */
export class NotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotFoundError';
  }
}

/** The operation is not possible in the current state, e.g. no earlier model to roll back to. */
export class FailedPreconditionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FailedPreconditionError';
  }
}

/**
 * A malformed input file: names the file, the 1-based line and the field, as `file:line: field:
 * detail`. Line 0 is the file as a whole: `file: detail` for field `file` (it does not exist, an
 * unknown extension), else `file: field: detail`.
 */
export class ImportError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly field: string,
    readonly detail: string,
  ) {
    super(
      line > 0
        ? `${file}:${line}: ${field}: ${detail}`
        : field === 'file'
          ? `${file}: ${detail}`
          : `${file}: ${field}: ${detail}`,
    );
    this.name = 'ImportError';
  }
}

/**
 * The database a `--database` value names cannot be used: a SQLite file that does not exist
 * (where creating one is not allowed), a path that is a directory, or a PostgreSQL server that
 * cannot be reached or refuses the login. `detail` names the path or the URL (credentials
 * redacted) and is meant to be printed as one line.
 */
export class DatabaseUnavailableError extends Error {
  constructor(
    readonly detail: string,
    options?: ErrorOptions,
  ) {
    super(`database: ${detail}`, options);
    this.name = 'DatabaseUnavailableError';
  }
}
