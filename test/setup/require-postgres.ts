/**
 * In CI the PostgreSQL suites are required: without TEST_POSTGRES_URL they would be left out
 * silently, so the run fails instead.
 */
export default function requirePostgres(): void {
  if (process.env.CI && !process.env.TEST_POSTGRES_URL) {
    throw new Error('CI is set but TEST_POSTGRES_URL is not: the PostgreSQL suites are required in CI (see .ci/run)');
  }
}
