import { useEffect, useState, type FormEvent } from 'react';
import { api, ApiError, type KnowledgeEntry, type Message, type Operator } from '../api.js';
import { formatScore, producerOf } from '../message-meta.js';
import { Modal } from './modal.js';

interface Props {
  message: Message;
  /** `save`: an AI reply becomes a new Q&A; `correct`: a FAQ answer is fixed in place or saved anew. */
  mode: 'save' | 'correct';
  /** The customer message it answered, prefilled as the question. */
  question: string;
  conversationId: string;
  me: Operator;
  onClose(): void;
}

/** Teach the AI from the chat [AI7]: the change applies to the next reply. */
export function TeachDialog({ message: m, mode, question: asked, conversationId, me, onClose }: Props) {
  const producer = producerOf(m);
  const faq = producer?.kind === 'faq' ? producer : null;
  const [question, setQuestion] = useState(mode === 'correct' ? (faq?.question ?? asked) : asked);
  const [answer, setAnswer] = useState(m.text ?? '');
  const [entry, setEntry] = useState<KnowledgeEntry | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [isBusy, setBusy] = useState(false);
  const isAdmin = me.role === 'admin';

  // Correcting: the stored entry, so the form shows what the FAQ holds now.
  useEffect(() => {
    if (mode !== 'correct' || !faq?.knowledgeId) return;
    let isCurrent = true;
    api.getKnowledge(faq.knowledgeId).then(
      (e) => {
        if (!isCurrent) return;
        setEntry(e);
        setQuestion(e.question);
        setAnswer(e.answer);
      },
      () => {},
    );
    return () => {
      isCurrent = false;
    };
  }, [mode, faq?.knowledgeId]);

  const save = async (how: 'new' | 'in_place') => {
    const q = question.trim();
    const a = answer.trim();
    if (!q || !a) {
      setError('Both the question and the answer are needed.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      if (how === 'in_place' && faq?.knowledgeId) {
        await api.updateKnowledge(faq.knowledgeId, { question: q, answer: a });
        setSaved('Entry corrected: the next reply uses it.');
      } else {
        await api.createKnowledge({
          question: q,
          answer: a,
          from_message_id: m.message_id,
          conversation_id: conversationId,
          ...(entry?.language ? { language: entry.language } : {}),
        });
        setSaved('Saved as a new Q&A: the next reply uses it.');
      }
    } catch (err) {
      setError(
        err instanceof ApiError
          ? err.code === 'forbidden'
            ? 'Only admins can change an existing entry: save it as a new entry instead.'
            : `${err.message} (${err.code})`
          : 'Not saved: check the connection and try again.',
      );
    } finally {
      setBusy(false);
    }
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void save(mode === 'correct' && isAdmin && faq?.knowledgeId ? 'in_place' : 'new');
  };

  const title = mode === 'save' ? 'Save as Q&A' : 'Correct the answer';
  return (
    <Modal label={title} className="teach-dialog" onClose={onClose}>
      <form onSubmit={submit} className="teach-form" noValidate>
        <h2>{title}</h2>
        {mode === 'correct' && faq && (
          <p className="small muted" data-field="faq-match">
            Matched the stored question “{faq.question ?? entry?.question ?? 'unknown'}”
            {faq.score !== null ? ` with score ${formatScore(faq.score)}` : ''}.
          </p>
        )}
        {mode === 'save' && <p className="small muted">The AI answers the next customer who asks this from the knowledge base.</p>}
        <label>
          Question
          <textarea dir="auto" rows={2} value={question} onChange={(e) => setQuestion(e.target.value)} required />
        </label>
        <label>
          Answer
          <textarea dir="auto" rows={5} value={answer} onChange={(e) => setAnswer(e.target.value)} required />
        </label>
        {error && (
          <p className="form-error small" role="alert">
            {error}
          </p>
        )}
        {saved && (
          <p className="ok small" role="status">
            {saved}
          </p>
        )}
        <div className="actions">
          {mode === 'correct' && faq?.knowledgeId ? (
            <>
              <button
                type="submit"
                className="primary"
                disabled={isBusy || !isAdmin}
                title={isAdmin ? undefined : 'Only admins can change an existing entry'}
              >
                Save in place
              </button>
              <button type="button" disabled={isBusy} onClick={() => void save('new')}>
                Save as new entry
              </button>
            </>
          ) : (
            <button type="submit" className="primary" disabled={isBusy}>
              Save
            </button>
          )}
          <button type="button" onClick={onClose}>
            {saved ? 'Close' : 'Cancel'}
          </button>
        </div>
        {mode === 'correct' && !isAdmin && <p className="small muted">Only admins can change an existing entry; you can save a new one.</p>}
      </form>
    </Modal>
  );
}
