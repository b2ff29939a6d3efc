/** No server for integration tests: the message says what was tried and how to start one. */
export class TestServerUnavailableError extends Error {
  override name = 'TestServerUnavailableError';
  readonly code = 'test-server-unavailable';
  readonly domain = 'external';
  readonly retryable = false;
}
