/**
 * The only error a provider's verify or parse function throws. The HTTP layer answers with `status`
 * and `reason` and stores nothing; any other exception from a parser is a bug (SPEC §4: no input can
 * cause a 500).
 */
export class WebhookRejected extends Error {
  constructor(
    readonly status: 400 | 401 | 413,
    readonly reason: string,
  ) {
    super(reason);
    this.name = 'WebhookRejected';
  }
}
