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

/**
 * An artifact directory that is missing, corrupt, truncated, inconsistent or of an unknown format.
 * `field`, when set, names what is wrong (e.g. `manifest.config.localGroups`, `weights.lr/out.w`,
 * `manifest.sha256`).
 */
export class ArtifactError extends Error {
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ArtifactError';
  }
}
