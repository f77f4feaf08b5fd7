import { useLayoutEffect, useRef, useState } from 'react';
import type { Conversation, Operator } from '../api.js';
import { contactLabel, STATE_LABELS } from '../format.js';
import { orderedMessages, type Thread } from '../state.js';
import { Composer } from './composer.js';
import { MessageView } from './message-view.js';

interface Props {
  conversation: Conversation;
  thread: Thread;
  me: Operator;
  /** Resolves false when the page could not be loaded. */
  onLoadOlder(beforeSeq: number): Promise<boolean>;
  onTakeOver(force: boolean): Promise<void>;
  onRelease(): Promise<void>;
  onResolve(): Promise<void>;
  onSend(text: string, idempotencyKey: string): Promise<void>;
}

/** Near the top by this much, the previous page is fetched; near the bottom, new messages keep it pinned. */
const EDGE_PX = 80;

/** One conversation: header with the state actions, the messages oldest first, the composer. */
export function ThreadPane({ conversation: c, thread, me, onLoadOlder, onTakeOver, onRelease, onResolve, onSend }: Props) {
  const messages = orderedMessages(thread);
  const scroller = useRef<HTMLDivElement>(null);
  const seen = useRef<{ firstSeq: number | null; lastSeq: number | null; fromBottom: number; isAtBottom: boolean }>(
    { firstSeq: null, lastSeq: null, fromBottom: 0, isAtBottom: true },
  );
  const [isLoadingOlder, setLoadingOlder] = useState(false);
  // After a failed page, only the button retries: no automatic retry loop.
  const [hasOlderFailed, setOlderFailed] = useState(false);
  const [isActing, setActing] = useState(false);

  const firstSeq = messages[0]?.seq ?? null;
  const lastSeq = messages.at(-1)?.seq ?? null;

  const loadOlder = () => {
    if (isLoadingOlder || !thread.hasMore || firstSeq === null) return;
    setLoadingOlder(true);
    void onLoadOlder(firstSeq).then((ok) => {
      setOlderFailed(!ok);
      setLoadingOlder(false);
    });
  };

  const remember = (el: HTMLDivElement) => {
    seen.current.fromBottom = el.scrollHeight - el.scrollTop;
    seen.current.isAtBottom = el.scrollHeight - el.scrollTop - el.clientHeight < EDGE_PX;
  };

  // Keep the reader's place: first page → bottom; older page prepended → same message stays in view;
  // new message at the end → follow it only if the reader was at the bottom.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el || firstSeq === null || lastSeq === null) return;
    const before = seen.current;
    if (before.firstSeq === null) el.scrollTop = el.scrollHeight;
    else if (firstSeq < before.firstSeq) el.scrollTop = el.scrollHeight - before.fromBottom;
    else if (lastSeq > (before.lastSeq ?? -1) && before.isAtBottom) el.scrollTop = el.scrollHeight;
    seen.current = { ...seen.current, firstSeq, lastSeq };
    remember(el);
  }, [firstSeq, lastSeq, messages.length]);

  // A first page too short to scroll could never trigger the scroll-up load: fetch more right away.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (el && thread.status === 'ready' && thread.hasMore && !hasOlderFailed && el.scrollHeight <= el.clientHeight) loadOlder();
  });

  const run = (action: () => Promise<void>) => {
    setActing(true);
    void action().finally(() => setActing(false));
  };

  const isMine = c.state === 'operator' && c.operator?.id === me.id;
  const isOwnedByOther = c.state === 'operator' && c.operator !== null && !isMine;
  const canTakeOver = c.state === 'ai' || c.state === 'waiting' || (isOwnedByOther && me.role === 'admin');
  const canRelease = isMine || c.state === 'waiting' || (isOwnedByOther && me.role === 'admin');
  const canResolve = c.state !== 'resolved' && (!isOwnedByOther || me.role === 'admin');

  return (
    <section className="thread" aria-label="Conversation" data-thread-id={c.conversation_id}>
      <header className="thread-header">
        <div>
          <h2>{contactLabel(c.contact)}</h2>
          <span className={`state state-${c.state}`} data-state={c.state}>
            {STATE_LABELS[c.state] ?? c.state}{c.operator ? ` · ${c.operator.id === me.id ? 'you' : c.operator.name}` : ''}
          </span>
        </div>
        <div className="actions">
          {canTakeOver && (
            <button type="button" className="primary" disabled={isActing} onClick={() => run(() => onTakeOver(isOwnedByOther))}>
              {isOwnedByOther ? 'Force take over' : 'Take over'}
            </button>
          )}
          {canRelease && (
            <button type="button" disabled={isActing} onClick={() => run(onRelease)} title="Hand the conversation back to the AI">Hand back to AI</button>
          )}
          {canResolve && (
            <button type="button" disabled={isActing} onClick={() => run(onResolve)}>Resolve</button>
          )}
        </div>
      </header>
      <div className="messages" ref={scroller} onScroll={(e) => {
        remember(e.currentTarget);
        if (e.currentTarget.scrollTop < EDGE_PX && !hasOlderFailed) loadOlder();
      }}>
        {thread.hasMore && (
          <button type="button" className="load-older" disabled={isLoadingOlder} onClick={loadOlder}>
            {isLoadingOlder ? 'Loading…' : 'Load older messages'}
          </button>
        )}
        {thread.status === 'loading' && messages.length === 0 && <p className="muted center">Loading…</p>}
        {thread.status === 'ready' && messages.length === 0 && <p className="muted center">No messages yet.</p>}
        {messages.map((m) => <MessageView key={m.message_id} message={m} />)}
      </div>
      <Composer conversation={c} me={me} onSend={onSend} />
    </section>
  );
}
