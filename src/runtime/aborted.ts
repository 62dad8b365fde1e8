/** The work of a caller that went away (an HTTP client that hung up), skipped. */
export class AbortedError extends Error {
  constructor() {
    super('the request was aborted');
    this.name = 'AbortError';
  }
}
