import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api, ApiError, type KnowledgeEntry, type Operator } from '../api.js';
import { formatFullTime } from '../format.js';

const SEARCH_DELAY_MS = 300;
const PAGE = 50;

function errorText(err: unknown): string {
  if (err instanceof ApiError) return err.code === 'forbidden' ? 'Only admins can change entries.' : `${err.message} (${err.code})`;
  return 'The knowledge base could not be reached.';
}

/** The faq responder's Q&A entries [AI7]: search for everyone; edit and delete for admins. */
export function KnowledgePage({ me }: { me: Operator }) {
  const [query, setQuery] = useState('');
  const [entries, setEntries] = useState<KnowledgeEntry[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [status, setStatus] = useState<'loading' | 'ready' | 'error'>('loading');
  const [error, setError] = useState<string | null>(null);
  const [editing, setEditing] = useState<string | null>(null);
  const isAdmin = me.role === 'admin';

  const load = useCallback(async (q: string, after?: string) => {
    if (!after) setStatus('loading');
    try {
      const page = await api.listKnowledge({ q, limit: PAGE, cursor: after });
      setEntries((current) => (after ? [...current, ...page.entries.filter((e) => !current.some((c) => c.id === e.id))] : page.entries));
      setCursor(page.next_cursor);
      setStatus('ready');
    } catch (err) {
      setStatus('error');
      setError(errorText(err));
    }
  }, []);

  useEffect(() => {
    const timer = setTimeout(() => void load(query.trim()), query ? SEARCH_DELAY_MS : 0);
    return () => clearTimeout(timer);
  }, [query, load]);

  const replace = (entry: KnowledgeEntry) => setEntries((list) => list.map((e) => (e.id === entry.id ? entry : e)));

  const remove = async (id: string) => {
    setError(null);
    try {
      await api.deleteKnowledge(id);
      setEntries((list) => list.filter((e) => e.id !== id));
    } catch (err) {
      setError(errorText(err));
    }
  };

  return (
    <section className="knowledge" aria-labelledby="knowledge-title">
      <header className="knowledge-header">
        <h1 id="knowledge-title">Knowledge base</h1>
        <p className="muted small">
          The Q&amp;A entries the FAQ responder answers from.{' '}
          {isAdmin ? 'Changes apply to the next reply.' : 'Only admins can edit or delete entries.'}
        </p>
        <input
          type="search"
          aria-label="Search the knowledge base"
          placeholder="Search questions and answers"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
        />
      </header>
      {error && (
        <p className="form-error small" role="alert">
          {error}
        </p>
      )}
      {status === 'loading' && entries.length === 0 && <p className="muted center">Loading…</p>}
      {status === 'ready' && entries.length === 0 && <p className="muted center">{query ? 'No entry matches.' : 'No entries yet.'}</p>}
      <ul className="knowledge-list">
        {entries.map((e) => (
          <li key={e.id} className="knowledge-entry" data-knowledge-id={e.id}>
            {editing === e.id ? (
              <EntryEditor
                entry={e}
                onSaved={(saved) => {
                  replace(saved);
                  setEditing(null);
                }}
                onCancel={() => setEditing(null)}
              />
            ) : (
              <EntryView entry={e} isAdmin={isAdmin} onEdit={() => setEditing(e.id)} onDelete={() => remove(e.id)} />
            )}
          </li>
        ))}
      </ul>
      {cursor && status === 'ready' && (
        <button type="button" className="load-more" onClick={() => void load(query.trim(), cursor)}>
          Load more
        </button>
      )}
    </section>
  );
}

function EntryView({
  entry: e,
  isAdmin,
  onEdit,
  onDelete,
}: {
  entry: KnowledgeEntry;
  isAdmin: boolean;
  onEdit(): void;
  onDelete(): Promise<void>;
}) {
  const [isConfirming, setConfirming] = useState(false);
  return (
    <>
      <h2 className="question" dir="auto">
        {e.question}
      </h2>
      <p className="answer" dir="auto">
        {e.answer}
      </p>
      {e.alternates.length > 0 && <p className="small muted">Also asked as: {e.alternates.join(' · ')}</p>}
      <p className="small muted">
        {e.language ?? 'any language'} · {e.source ?? 'manual'} · updated {formatFullTime(e.updated_at)}
        {e.tags.length > 0 && (
          <>
            {' '}
            ·{' '}
            {e.tags.map((t) => (
              <span key={t} className="tag">
                {t}
              </span>
            ))}
          </>
        )}
      </p>
      {isAdmin && (
        <div className="actions">
          <button type="button" className="small" onClick={onEdit} aria-label={`Edit “${e.question}”`}>
            Edit
          </button>
          {isConfirming ? (
            <>
              <button type="button" className="small danger" onClick={() => void onDelete()}>
                Delete for good
              </button>
              <button type="button" className="small" onClick={() => setConfirming(false)}>
                Keep
              </button>
            </>
          ) : (
            <button type="button" className="small" onClick={() => setConfirming(true)} aria-label={`Delete “${e.question}”`}>
              Delete
            </button>
          )}
        </div>
      )}
    </>
  );
}

function EntryEditor({ entry, onSaved, onCancel }: { entry: KnowledgeEntry; onSaved(e: KnowledgeEntry): void; onCancel(): void }) {
  const [question, setQuestion] = useState(entry.question);
  const [answer, setAnswer] = useState(entry.answer);
  const [language, setLanguage] = useState(entry.language ?? '');
  const [error, setError] = useState<string | null>(null);
  const [isBusy, setBusy] = useState(false);

  const submit = async (ev: FormEvent) => {
    ev.preventDefault();
    if (!question.trim() || !answer.trim()) {
      setError('Both the question and the answer are needed.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      onSaved(
        await api.updateKnowledge(entry.id, {
          question: question.trim(),
          answer: answer.trim(),
          ...(language.trim() ? { language: language.trim() } : {}),
        }),
      );
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  };

  return (
    <form className="entry-editor" onSubmit={submit}>
      <label>
        Question
        <textarea dir="auto" rows={2} value={question} onChange={(e) => setQuestion(e.target.value)} />
      </label>
      <label>
        Answer
        <textarea dir="auto" rows={4} value={answer} onChange={(e) => setAnswer(e.target.value)} />
      </label>
      <label>
        Language
        <input value={language} onChange={(e) => setLanguage(e.target.value)} placeholder="e.g. en, ar (empty: any)" />
      </label>
      {error && (
        <p className="form-error small" role="alert">
          {error}
        </p>
      )}
      <div className="actions">
        <button type="submit" className="primary small" disabled={isBusy}>
          Save
        </button>
        <button type="button" className="small" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
