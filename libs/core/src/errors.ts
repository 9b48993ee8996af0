/** Bad input to a public function; `field` names the offending field (e.g. `requests[2].support[0].value`). */
export class ValidationError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'ValidationError';
  }
}

/** An artifact directory that is missing, corrupt, truncated or of an unknown format. */
export class ArtifactError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArtifactError';
  }
}
