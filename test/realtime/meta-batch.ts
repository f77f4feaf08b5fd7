import { TEST_SECRETS, postMeta } from '../support/app.js';

export interface BatchMessage {
  id: string;
  from: string;
  body: string;
}

/**
 * One Meta webhook carrying many text messages (Meta batches up to 1000 updates per POST), in the
 * real wire format.
 */
export function metaBatchPayload(messages: readonly BatchMessage[], timestamp = Math.floor(Date.now() / 1000)) {
  // Consecutive messages of one sender share a change, so the payload keeps the given order.
  const runs: [string, BatchMessage[]][] = [];
  for (const m of messages) {
    const last = runs[runs.length - 1];
    if (last && last[0] === m.from) last[1].push(m);
    else runs.push([m.from, [m]]);
  }
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: '102290129340398',
        changes: runs.map(([from, list]) => ({
          value: {
            messaging_product: 'whatsapp',
            metadata: { display_phone_number: '15550783881', phone_number_id: TEST_SECRETS.META_PHONE_NUMBER_ID },
            contacts: [{ profile: { name: `Customer ${from}` }, wa_id: from }],
            messages: list.map((m) => ({ from, id: m.id, timestamp: String(timestamp), type: 'text', text: { body: m.body } })),
          },
          field: 'messages',
        })),
      },
    ],
  };
}

/** Posts a batch and fails loudly unless it was committed (200). */
export async function postBatch(baseUrl: string, messages: readonly BatchMessage[]): Promise<void> {
  const res = await postMeta(baseUrl, metaBatchPayload(messages));
  if (res.status !== 200) throw new Error(`webhook answered ${res.status}: ${await res.text()}`);
  await res.arrayBuffer().catch(() => undefined);
}

/** A wamid-like id, unique per run and index. */
export function wamid(run: string, i: number): string {
  return `wamid.${run}.${String(i).padStart(6, '0')}`;
}
