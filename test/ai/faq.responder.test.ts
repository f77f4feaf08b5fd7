import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFaqResponder, type FaqResponder } from '../../src/ai/faq.responder.js';
import { KnowledgeFileError, parseKnowledgeFile } from '../../src/ai/knowledge-file.js';
import { SAMPLE_KNOWLEDGE_FILE, seedKnowledge } from '../../src/ai/knowledge-seed.js';
import { addKnowledge, correctKnowledge, deleteKnowledge } from '../../src/app/manage-knowledge.js';
import type { AuthenticatedOperator } from '../../src/app/authenticate.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import type { Store } from '../../src/store/database.js';
import { findKnowledgeBySeedKey, listLiveKnowledge, updateKnowledge } from '../../src/store/knowledge.store.js';
import { sharedDatabases, type TestDatabase } from '../support/databases.js';
import { customerInput, faqContext, type FaqContext } from './faq-support.js';

const admin = { id: 'op_admin', name: 'Admin', email: 'admin@example.test', role: 'admin' } as unknown as AuthenticatedOperator;

const scratch = () => mkdtempSync(join(tmpdir(), 'sb-faq-file-'));
function writeKnowledge(name: string, text: string): string {
  const path = join(scratch(), name);
  writeFileSync(path, text);
  return path;
}

const countRows = async (store: Store) =>
  Number(
    (
      await store.reader
        .selectFrom('knowledge')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );

describe('knowledge file parsing', () => {
  it('reads the shipped sample: at least 25 entries in each of English, Arabic and French, with unique ids', () => {
    const entries = parseKnowledgeFile(readFileSync(SAMPLE_KNOWLEDGE_FILE, 'utf8'), 'clinic.md');
    for (const language of ['en', 'ar', 'fr']) expect(entries.filter((e) => e.language === language).length).toBeGreaterThanOrEqual(25);
    expect(new Set(entries.map((e) => e.id)).size).toBe(entries.length);
    expect(entries.every((e) => e.answer.length > 20)).toBe(true);
  });

  it('reads Markdown fields (Id, Language, Also, Tags) and multi-paragraph answers', () => {
    const [entry] = parseKnowledgeFile(
      'Language: fr\n\n## Q: Où êtes-vous ?\nId: where\nAlso: adresse ? | localisation\nTags: lieu, accès\n\nRue du Jasmin.\n\nEn face de la pharmacie.\n',
      'k.md',
    );
    expect(entry).toEqual({
      id: 'where',
      question: 'Où êtes-vous ?',
      answer: 'Rue du Jasmin.\n\nEn face de la pharmacie.',
      language: 'fr',
      alternates: ['adresse ?', 'localisation'],
      tags: ['lieu', 'accès'],
    });
  });

  it('names the entry of a malformed Markdown file', () => {
    const text = '## Q: first\n\nan answer\n\n## Q: Second question\n\n## Q: third\n\nanswer\n';
    expect(() => parseKnowledgeFile(text, 'k.md')).toThrow(KnowledgeFileError);
    expect(() => parseKnowledgeFile(text, 'k.md')).toThrow(/k\.md: entry 2 \(line 5: "Second question"\): the answer is empty/);
    expect(() => parseKnowledgeFile('## Hours\n\nopen\n', 'k.md')).toThrow(
      /line 1: "## Hours" — an entry heading must read "## Q: <question>"/,
    );
    expect(() => parseKnowledgeFile('## Q: a\nLanguage: english\n\nb\n', 'k.md')).toThrow(/entry 1 .*language "english"/);
    expect(() => parseKnowledgeFile('## Q: Same?\n\na\n\n## Q: same\n\nb\n', 'k.md')).toThrow(/entry 2 \("same"\) repeats entry 1/);
  });

  it('names the entry of a malformed JSON file', () => {
    expect(() => parseKnowledgeFile('[{"question":"a","answer":"b"},{"question":"Hours?"}]', 'k.json')).toThrow(
      /k\.json: entry 2 \("Hours\?"\): answer: /,
    );
    expect(() => parseKnowledgeFile('{"question":"a"}', 'k.json')).toThrow(/expected a JSON array/);
    expect(() => parseKnowledgeFile('[{"question":"a","answer":"b","colour":"red"}]', 'k.json')).toThrow(/entry 1 \("a"\)/);
    expect(() => parseKnowledgeFile('[nope', 'k.json')).toThrow(/not valid JSON/);
  });
});

describe('faq settings', () => {
  it('AI_FAQ_MIN_SCORE and AI_FAQ_MARGIN: 0.35 and 0.05 by default; outside 0–1 stops the start naming them', () => {
    expect(loadConfig({}).ai.faq).toEqual({ minScore: 0.35, margin: 0.05 });
    expect(loadConfig({ AI_FAQ_MIN_SCORE: '0.6', AI_FAQ_MARGIN: '0' }).ai.faq).toEqual({ minScore: 0.6, margin: 0 });
    expect(() => loadConfig({ AI_FAQ_MIN_SCORE: '1.5' })).toThrow(ConfigError);
    expect(() => loadConfig({ AI_FAQ_MARGIN: 'wide' })).toThrow(/AI_FAQ_MARGIN="wide": expected a number from 0 to 1/);
  });
});

describe.each(sharedDatabases())('faq responder and seeding on $kind', (factory) => {
  let database: TestDatabase;
  let store: Store;
  let ctx: FaqContext;
  let faq: FaqResponder;
  const idOf = async (fileId: string) => (await findKnowledgeBySeedKey(store.reader, `id:${fileId}`))!.id;

  beforeAll(async () => {
    database = await factory.create();
    store = await database.open();
    ctx = faqContext(store);
    faq = createFaqResponder(ctx);
  });
  afterAll(async () => {
    await ctx.committer.idle();
    await store.close();
    await database.destroy();
  });

  it('seeds the shipped sample when AI_KNOWLEDGE_FILE is unset; seeding again changes nothing', async () => {
    const first = await seedKnowledge(ctx);
    expect(first.inserted).toBeGreaterThanOrEqual(75);
    expect(first.kept).toBe(0);
    const rows = await listLiveKnowledge(store.reader);
    const again = await seedKnowledge(ctx);
    expect(again).toEqual({ inserted: 0, kept: first.inserted });
    expect(await listLiveKnowledge(store.reader)).toEqual(rows);
    expect(rows.every((r) => r.source === 'file' && r.seed_key?.startsWith('id:'))).toBe(true);
  });

  it('two processes seeding one fresh database at once store each entry once', async () => {
    const fresh = await factory.create();
    const [a, b] = [await fresh.open(), await fresh.open()];
    try {
      const [ra, rb] = await Promise.all([seedKnowledge(faqContext(a)), seedKnowledge(faqContext(b))]);
      const rows = await listLiveKnowledge(a.reader);
      expect(ra.inserted + rb.inserted).toBe(rows.length);
      expect(ra.inserted + ra.kept).toBe(rows.length);
      expect(new Set(rows.map((r) => r.seed_key)).size).toBe(rows.length);
    } finally {
      await a.close();
      await b.close();
      await fresh.destroy();
    }
  });

  it('a re-seed neither overwrites an edited entry nor brings back a deleted one', async () => {
    const hours = await idOf('hours.en');
    await updateKnowledge(store.db, hours, { answer: 'Edited in the dashboard.' }, new Date().toISOString());
    const parking = await idOf('parking.en');
    await deleteKnowledge(ctx, parking);
    const again = await seedKnowledge(ctx);
    expect(again.inserted).toBe(0);
    expect((await findKnowledgeBySeedKey(store.reader, 'id:hours.en'))!.answer).toBe('Edited in the dashboard.');
    expect((await findKnowledgeBySeedKey(store.reader, 'id:parking.en'))!.deleted_at).not.toBeNull();
  });

  it('a malformed file stops the seed with the entry named, and stores nothing of it', async () => {
    const before = await countRows(store);
    const file = writeKnowledge('bad.md', '## Q: Is this new?\n\nyes\n\n## Q: Broken entry\nTags: x\n');
    await expect(seedKnowledge(faqContext(store, { AI_KNOWLEDGE_FILE: file }))).rejects.toThrow(
      /bad\.md: entry 2 \(line 5: "Broken entry"\): the answer is empty/,
    );
    await expect(seedKnowledge(faqContext(store, { AI_KNOWLEDGE_FILE: join(scratch(), 'missing.md') }))).rejects.toThrow(
      /cannot be read \(ENOENT\)/,
    );
    expect(await countRows(store)).toBe(before);
  });

  it('seeds a JSON file without ids by question and language, idempotently', async () => {
    const file = writeKnowledge(
      'extra.json',
      JSON.stringify([
        { question: 'Do you sell sunscreen?', answer: 'Yes, SPF 50 at the front desk, $25.', language: 'en', tags: ['shop'] },
        { question: 'Vendez-vous de la crème solaire ?', answer: 'Oui, SPF 50 à l’accueil, 25 $.', language: 'fr' },
      ]),
    );
    const fileCtx = faqContext(store, { AI_KNOWLEDGE_FILE: file });
    expect(await seedKnowledge(fileCtx)).toEqual({ inserted: 2, kept: 0 });
    expect(await seedKnowledge(fileCtx)).toEqual({ inserted: 0, kept: 2 });
    const reply = await faq.respond(customerInput(['do you sell any sunscreen?']));
    expect(reply.kind === 'reply' && reply.text).toBe('Yes, SPF 50 at the front desk, $25.');
  });

  it('[AI7] answers with the matching entry and says where the answer came from', async () => {
    const result = await faq.respond(customerInput(['ade 7a2 el laser']));
    expect(result.kind).toBe('reply');
    const id = await idOf('laser-price.ar');
    expect(result.origin).toMatchObject({ handled_by: 'faq', knowledge_id: id, knowledge_question: 'كم سعر إزالة الشعر بالليزر؟' });
    expect(result.origin.score).toBeGreaterThan(0.35);
    expect(result.origin.clarifying).toBeUndefined();
    expect(result.kind === 'reply' && result.text).toContain('الإبط 40$');
  });

  it('[AI1] considers every pending message of the window: a greeting, then the question', async () => {
    const result = await faq.respond(customerInput(['bonjour', 'je voudrais savoir', 'vous êtes ouverts le samedi ?']));
    expect(result.origin.knowledge_id).toBe(await idOf('hours.fr'));
  });

  it("greets back and thanks back in the customer's language instead of missing", async () => {
    const hello = await faq.respond(customerInput(['مرحبا']));
    expect(hello).toMatchObject({ kind: 'reply', origin: { handled_by: 'faq', knowledge_id: null } });
    expect(hello.kind === 'reply' && hello.text).toMatch(/أهلاً/);
    expect(hello.origin.clarifying).toBeUndefined();
    const thanks = await faq.respond(customerInput(['Thank you so much!']));
    expect(thanks.kind === 'reply' && thanks.text).toMatch(/welcome/);
    const merci = await faq.respond(customerInput(['merci beaucoup']));
    expect(merci.kind === 'reply' && merci.text).toMatch(/plaisir/);
  });

  it("[AI4] below the threshold asks one clarifying question in the customer's language, then hands over (ai_requested)", async () => {
    const first = await faq.respond(customerInput(['quel temps fera-t-il demain à Paris ?']));
    expect(first).toMatchObject({ kind: 'reply', origin: { handled_by: 'faq', clarifying: true } });
    expect(first.kind === 'reply' && first.text).toMatch(/pouvez-vous/i);
    const arabic = await faq.respond(customerInput(['شو الطقس بكرا؟'], { language: 'ar' }));
    expect(arabic.kind === 'reply' && arabic.origin.clarifying && arabic.text).toMatch(/توضحلي/);
    const second = await faq.respond(customerInput(['quel temps fera-t-il demain à Paris ?'], { misses: 1 }));
    expect(second).toMatchObject({ kind: 'handover', reason: 'ai_requested', origin: { handled_by: 'faq' } });
    // A confident answer after a miss is still an answer, not a hand-over.
    const answered = await faq.respond(customerInput(['Quels sont vos horaires ?'], { misses: 1 }));
    expect(answered).toMatchObject({ kind: 'reply', origin: { knowledge_id: await idOf('hours.fr') } });
  });

  it('AI_FAQ_MIN_SCORE raises the bar: the same question gets a clarifying question instead', async () => {
    const strict = createFaqResponder(faqContext(store, { AI_FAQ_MIN_SCORE: '0.99' }));
    const question = "I'm pregnant, is laser safe for me?";
    const normal = await faq.respond(customerInput([question]));
    expect(normal.origin.knowledge_id).toBe(await idOf('pregnancy.en'));
    expect(normal.origin.score).toBeLessThan(0.99);
    expect(await strict.respond(customerInput([question]))).toMatchObject({ kind: 'reply', origin: { clarifying: true } });
  });

  it('[AI7] an edit in the same millisecond as the last write still reaches the next reply', async () => {
    const at = new Date(Date.now() + 60_000);
    const entry = await addKnowledge(
      ctx,
      admin,
      'api',
      { question: 'Do you do dermaplaning?', answer: 'Yes, $60.', language: 'en', alternates: [], tags: [], from: null },
      at,
    );
    expect(await faq.respond(customerInput(['dermaplaning, do you do it?']))).toMatchObject({ kind: 'reply', text: 'Yes, $60.' });
    await correctKnowledge(ctx, entry.id, { answer: 'Yes, $55 this week.' }, at);
    expect(await faq.respond(customerInput(['dermaplaning, do you do it?']))).toMatchObject({ kind: 'reply', text: 'Yes, $55 this week.' });
    await deleteKnowledge(ctx, entry.id, at);
    expect((await faq.respond(customerInput(['dermaplaning, do you do it?']))).origin.knowledge_id).not.toBe(entry.id);
  });

  it("search gives the best matches with scores in [0, 1], best first, for the openai responder's context", async () => {
    const matches = await faq.search('How much is Botox?', 3);
    expect(matches).toHaveLength(3);
    expect(matches[0]!.id).toBe(await idOf('botox-price.en'));
    for (const m of matches) expect(m.score).toBeGreaterThanOrEqual(0);
    expect(matches[0]!.score).toBeLessThanOrEqual(1);
    expect(matches[0]!.score).toBeGreaterThanOrEqual(matches[1]!.score);
    expect(await faq.search('who won the football match', 3)).toSatisfy((list: { score: number }[]) => list.every((m) => m.score < 0.35));
  });

  it('[AI7] a second store on the same database sees additions, corrections and deletions at its next reply', async () => {
    const otherStore = await database.open();
    const other = faqContext(otherStore);
    try {
      const question = 'Do you offer microneedling?';
      const before = await faq.respond(customerInput(['can I get microneedling at your clinic']));
      expect(before.kind === 'reply' && before.origin.clarifying).toBe(true);

      const added = await addKnowledge(other, admin, 'api', {
        question,
        answer: 'Yes, microneedling costs $150 a session.',
        language: 'en',
        alternates: [],
        tags: [],
        from: null,
      });
      const answered = await faq.respond(customerInput(['can I get microneedling at your clinic']));
      expect(answered).toMatchObject({
        kind: 'reply',
        text: 'Yes, microneedling costs $150 a session.',
        origin: { knowledge_id: added.id },
      });

      await correctKnowledge(other, added.id, { answer: 'Yes: microneedling is $130 a session this month.' });
      const corrected = await faq.respond(customerInput(['can I get microneedling at your clinic']));
      expect(corrected.kind === 'reply' && corrected.text).toBe('Yes: microneedling is $130 a session this month.');

      await deleteKnowledge(other, added.id);
      const gone = await faq.respond(customerInput(['can I get microneedling at your clinic']));
      expect(gone.origin.knowledge_id).not.toBe(added.id);
      expect(gone.kind === 'reply' && gone.origin.clarifying).toBe(true);
    } finally {
      await other.committer.idle();
      await otherStore.close();
    }
  });
});
