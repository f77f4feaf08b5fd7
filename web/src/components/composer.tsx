import { useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import { ApiError, type Conversation, type Operator } from '../api.js';
import { formatFullTime } from '../format.js';
import { useNow } from '../use-now.js';

/** WhatsApp's limit for a text body (the server refuses longer ones). */
const MAX_TEXT_LENGTH = 4096;

/** Why this operator cannot write now, or null when they can (SPEC §3 window, §7 ownership). */
export function composerBlock(c: Conversation, me: Operator, now: number): string | null {
  if (c.state === 'resolved') return 'This conversation is resolved.';
  if (c.state !== 'operator') return 'Take over the conversation to reply.';
  if (c.operator?.id !== me.id) return `${c.operator?.name ?? 'Another operator'} is handling this conversation.`;
  if (!c.window_expires_at) return 'The customer has not written yet: WhatsApp allows replies only after they do.';
  if (Date.parse(c.window_expires_at) <= now) {
    return `The 24-hour window closed at ${formatFullTime(c.window_expires_at)}: WhatsApp allows free-form replies only within 24 hours of the customer's last message.`;
  }
  return null;
}

/** A random idempotency key; getRandomValues works on plain-http LAN addresses too, unlike randomUUID. */
function newKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function Composer({ conversation, me, onSend }: {
  conversation: Conversation; me: Operator; onSend(text: string, idempotencyKey: string): Promise<void>;
}) {
  const now = useNow(15_000);
  const [text, setText] = useState('');
  const [isSending, setSending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  // A retry of the same text reuses its key, so a send whose answer was lost is not sent twice [OUT2].
  const pending = useRef<{ text: string; key: string } | null>(null);
  const block = composerBlock(conversation, me, now);

  const submit = async (e?: FormEvent) => {
    e?.preventDefault();
    const body = text.trim();
    if (!body || block || isSending) return;
    if (pending.current?.text !== body) pending.current = { text: body, key: newKey() };
    setSending(true);
    setError(null);
    try {
      await onSend(body, pending.current.key);
      pending.current = null;
      setText('');
    } catch (err) {
      setError(err instanceof ApiError ? `${err.message} (${err.code})` : 'Not sent: check the connection and try again.');
    } finally {
      setSending(false);
    }
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) void submit(e);
  };

  return (
    <form className="composer" onSubmit={submit}>
      {block && <p className="composer-block small" data-composer-block>{block}</p>}
      {error && <p className="form-error small" role="alert">{error}</p>}
      <div className="composer-row">
        <textarea
          aria-label="Reply"
          placeholder={block ? '' : 'Write a reply (Enter sends, Shift+Enter new line)'}
          rows={2}
          maxLength={MAX_TEXT_LENGTH}
          disabled={block !== null}
          value={text}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={onKeyDown}
        />
        <button type="submit" className="primary" disabled={block !== null || isSending || text.trim() === ''}>
          {isSending ? 'Sending…' : 'Send'}
        </button>
      </div>
    </form>
  );
}
