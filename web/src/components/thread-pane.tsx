import { useVirtualizer } from '@tanstack/react-virtual';
import { useCallback, useLayoutEffect, useMemo, useRef, useState } from 'react';
import type { Conversation, Message, Operator, OutgoingMessage } from '../api.js';
import { contactLabel, STATE_LABELS } from '../format.js';
import { orderedMessages, type Thread } from '../state.js';
import { Composer } from './composer.js';
import { MessageActionsContext, MessageView, type MessageActions, type TeachMode } from './message-view.js';
import { PhotoViewer } from './photo-viewer.js';
import { TeachDialog } from './teach-dialog.js';

interface Props {
  conversation: Conversation;
  thread: Thread;
  me: Operator;
  /** False with AI_RESPONDER=none: a release puts the conversation back in the queue, not with an AI. */
  hasAssistant: boolean;
  /** Resolves false when the page could not be loaded. */
  onLoadOlder(beforeSeq: number): Promise<boolean>;
  onTakeOver(force: boolean): Promise<void>;
  onRelease(): Promise<void>;
  onResolve(): Promise<void>;
  onSend(message: OutgoingMessage, idempotencyKey: string): Promise<void>;
  onRetry(m: Message): Promise<void>;
}

/** Near the top by this much, the previous page is fetched; near the bottom, new messages keep it pinned. */
const EDGE_PX = 80;
/** A first guess of a row's height; every row is measured once rendered. */
const ESTIMATED_ROW_PX = 56;
/** Rows rendered beyond the visible ones on each side: the DOM holds about a screen plus this. */
const OVERSCAN = 8;

/**
 * One conversation: header with the state actions, the messages oldest first, the composer.
 * The list is virtualised (only the rows in view are in the DOM), so a thread of any length scrolls
 * smoothly; loading an older page keeps the message the reader was looking at where it was.
 */
export function ThreadPane({
  conversation: c,
  thread,
  me,
  hasAssistant,
  onLoadOlder,
  onTakeOver,
  onRelease,
  onResolve,
  onSend,
  onRetry,
}: Props) {
  const messages = useMemo(() => orderedMessages(thread), [thread]);
  const scroller = useRef<HTMLDivElement>(null);
  const rows = useRef<HTMLDivElement>(null);
  /** Where the rows start inside the scroller (below the "load older" button): item offsets are from there. */
  const rowsTop = () => rows.current?.offsetTop ?? 0;
  const seen = useRef<{
    firstSeq: number | null;
    lastSeq: number | null;
    isAtBottom: boolean;
    anchor: { id: string; offset: number } | null;
    /** scrollTop when the anchor was taken: another value means the reader moved since. */
    scrollTop: number;
  }>({ firstSeq: null, lastSeq: null, isAtBottom: true, anchor: null, scrollTop: 0 });
  const [isLoadingOlder, setLoadingOlder] = useState(false);
  // After a failed page, only the button retries: no automatic retry loop.
  const [hasOlderFailed, setOlderFailed] = useState(false);
  const [isActing, setActing] = useState(false);
  const [replyTo, setReplyTo] = useState<Message | null>(null);
  const [photo, setPhoto] = useState<Message | null>(null);
  const [teach, setTeach] = useState<{ message: Message; mode: TeachMode; question: string } | null>(null);

  const firstSeq = messages[0]?.seq ?? null;
  const lastSeq = messages.at(-1)?.seq ?? null;

  const virtualizer = useVirtualizer({
    count: messages.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ESTIMATED_ROW_PX,
    overscan: OVERSCAN,
    getItemKey: (index) => messages[index]!.message_id,
  });
  // The place is kept here (the anchor below), not by the virtualizer: its own correction skips
  // rows measured while scrolling up and writes from a scroll offset that lags our writes.
  // An instance property in react-virtual 3, not an option.
  virtualizer.shouldAdjustScrollPositionOnItemSizeChange = () => false;
  const items = virtualizer.getVirtualItems();
  const totalSize = virtualizer.getTotalSize();

  const loadOlder = () => {
    if (isLoadingOlder || !thread.hasMore || firstSeq === null) return;
    setLoadingOlder(true);
    void onLoadOlder(firstSeq).then((ok) => {
      setOlderFailed(!ok);
      setLoadingOlder(false);
    });
  };

  /** The first row in view and how far below the top it starts: restored after a page is prepended. */
  const remember = (el: HTMLDivElement) => {
    seen.current.scrollTop = el.scrollTop;
    seen.current.isAtBottom = el.scrollHeight - el.scrollTop - el.clientHeight < EDGE_PX;
    // From the measurements (every row, estimated until rendered), not the rendered rows: those can
    // still be the ones of the previous scroll position.
    const view = el.scrollTop - rowsTop();
    const cache = virtualizer.measurementsCache;
    let lo = 0;
    let hi = cache.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cache[mid]!.end > view) hi = mid;
      else lo = mid + 1;
    }
    const top = cache[lo];
    seen.current.anchor = top ? { id: String(top.key), offset: top.start - view } : null;
  };

  // Keep the reader's place whenever rows are added or measured: first page → bottom; at the bottom
  // → stay there (new messages are followed); elsewhere → the row at the top of the view stays at
  // the same height (an older page prepended, rows above measured taller or shorter than estimated).
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el || firstSeq === null || lastSeq === null) return;
    // The reader scrolled and this render came before the scroll handler: their new place is the anchor.
    if (seen.current.firstSeq !== null && Math.abs(el.scrollTop - seen.current.scrollTop) > 1) remember(el);
    const before = seen.current;
    if (before.firstSeq === null || before.isAtBottom) {
      el.scrollTop = el.scrollHeight;
    } else if (before.anchor) {
      const index = messages.findIndex((m) => m.message_id === before.anchor!.id);
      const item = index >= 0 ? virtualizer.measurementsCache[index] : undefined;
      const target = item ? rowsTop() + item.start - before.anchor.offset : null;
      if (target !== null && Math.abs(el.scrollTop - target) >= 1) el.scrollTop = target;
    }
    seen.current = { ...seen.current, firstSeq, lastSeq };
    remember(el);
  }, [firstSeq, lastSeq, messages.length, totalSize]);

  // The view shrinking or growing (the composer's quote, attachment or recorder bar, the window)
  // keeps the end in view when the reader was there.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el || typeof ResizeObserver === 'undefined') return;
    const observer = new ResizeObserver(() => {
      if (seen.current.isAtBottom) el.scrollTop = el.scrollHeight;
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

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
  const canRelease = c.state === 'operator' ? isMine || (isOwnedByOther && me.role === 'admin') : c.state === 'waiting' && hasAssistant;
  const canResolve = c.state !== 'resolved' && (!isOwnedByOther || me.role === 'admin');

  const latestMessages = useRef(messages);
  latestMessages.current = messages;
  const openTeach = useCallback((m: Message, mode: TeachMode) => {
    // The question it answered: the nearest customer message before it.
    const list = latestMessages.current;
    let question = '';
    for (let i = list.findIndex((x) => x.message_id === m.message_id) - 1; i >= 0; i--) {
      const candidate = list[i]!;
      if (candidate.role === 'user') {
        question = candidate.text ?? '';
        break;
      }
    }
    setTeach({ message: m, mode, question });
  }, []);

  const actions = useMemo<MessageActions>(
    () => ({
      canReply: isMine,
      onReply: setReplyTo,
      onRetry,
      onTeach: openTeach,
      onOpenPhoto: setPhoto,
    }),
    [isMine, onRetry, openTeach],
  );

  const send = async (message: OutgoingMessage, key: string) => {
    await onSend({ ...message, replyTo: replyTo?.message_id }, key);
    setReplyTo(null);
  };

  return (
    <section className="thread" aria-label="Conversation" data-thread-id={c.conversation_id}>
      <header className="thread-header">
        <div>
          <h2 dir="auto">{contactLabel(c.contact)}</h2>
          <span className={`state state-${c.state}`} data-state={c.state}>
            {STATE_LABELS[c.state] ?? c.state}
            {c.operator ? ` · ${c.operator.id === me.id ? 'you' : c.operator.name}` : ''}
          </span>
        </div>
        <div className="actions">
          {canTakeOver && (
            <button type="button" className="primary" disabled={isActing} onClick={() => run(() => onTakeOver(isOwnedByOther))}>
              {isOwnedByOther ? 'Force take over' : 'Take over'}
            </button>
          )}
          {canRelease &&
            (hasAssistant ? (
              <button type="button" disabled={isActing} onClick={() => run(onRelease)} title="Hand the conversation back to the AI">
                Hand back to AI
              </button>
            ) : (
              <button
                type="button"
                disabled={isActing}
                onClick={() => run(onRelease)}
                title="Put the conversation back in the waiting queue for any operator"
              >
                Back to queue
              </button>
            ))}
          {canResolve && (
            <button type="button" disabled={isActing} onClick={() => run(onResolve)}>
              Resolve
            </button>
          )}
        </div>
      </header>
      <div
        className="messages"
        ref={scroller}
        tabIndex={0}
        role="log"
        aria-label="Messages"
        onScroll={(e) => {
          remember(e.currentTarget);
          if (e.currentTarget.scrollTop < EDGE_PX && !hasOlderFailed) loadOlder();
        }}
      >
        {thread.hasMore && (
          <button type="button" className="load-older" disabled={isLoadingOlder} onClick={loadOlder}>
            {isLoadingOlder ? 'Loading…' : 'Load older messages'}
          </button>
        )}
        {thread.status === 'loading' && messages.length === 0 && <p className="muted center">Loading…</p>}
        {thread.status === 'ready' && messages.length === 0 && <p className="muted center">No messages yet.</p>}
        <MessageActionsContext.Provider value={actions}>
          <div className="message-rows" ref={rows} style={{ height: totalSize }}>
            {items.map((item) => {
              const m = messages[item.index]!;
              return (
                <div
                  key={item.key}
                  className="message-row"
                  data-index={item.index}
                  ref={virtualizer.measureElement}
                  style={{ transform: `translateY(${item.start}px)` }}
                >
                  <MessageView message={m} quoted={m.reply_to ? thread.messages[m.reply_to] : undefined} />
                </div>
              );
            })}
          </div>
        </MessageActionsContext.Provider>
      </div>
      <Composer conversation={c} me={me} onSend={send} replyTo={replyTo} onCancelReply={() => setReplyTo(null)} />
      {photo && <PhotoViewer message={photo} onClose={() => setPhoto(null)} />}
      {teach && (
        <TeachDialog
          message={teach.message}
          mode={teach.mode}
          question={teach.question}
          conversationId={c.conversation_id}
          me={me}
          onClose={() => setTeach(null)}
        />
      )}
    </section>
  );
}
