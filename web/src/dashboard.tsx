import { useCallback, useEffect, useReducer, useRef, useState } from 'react';
import { alertWaiting, areAlertsOn, primeAlerts, setAlertsOn } from './alerts.js';
import { api, ApiError, type Conversation, type Message, type Operator, type OutgoingMessage, type WireEvent } from './api.js';
import { contactLabel, HANDOVER_REASON_LABELS } from './format.js';
import { initialState, reduce, type ListFilter } from './state.js';
import { useServerEvents } from './use-server-events.js';
import { ConnectionBadge } from './components/connection-badge.js';
import { ConversationList } from './components/conversation-list.js';
import { DetailsPanel } from './components/details-panel.js';
import { HandoverQueues } from './components/handover-queues.js';
import { KnowledgePage } from './components/knowledge-page.js';
import { StatusSelector } from './components/status-selector.js';
import { ThreadPane } from './components/thread-pane.js';

const WAITING_PAGE = 100;

const KNOWLEDGE_PATH = '/knowledge';

/** Client routes: `/`, `/c/<conversation_id>` and `/knowledge` (the server answers all with index.html). */
function conversationIdFromPath(pathname: string): string | null {
  const match = /^\/c\/([^/]+)\/?$/.exec(pathname);
  if (!match) return null;
  try {
    return decodeURIComponent(match[1]!);
  } catch {
    return null;
  }
}

function errorText(err: unknown): string {
  if (err instanceof ApiError) return `${err.message} (${err.code})`;
  return err instanceof Error ? err.message : String(err);
}

export function Dashboard({ me, onLogOut }: { me: Operator; onLogOut(): void }) {
  const [state, dispatch] = useReducer(reduce, initialState);
  const [selectedId, setSelectedId] = useState<string | null>(() => conversationIdFromPath(window.location.pathname));
  const [notice, setNotice] = useState<string | null>(null);
  const [isPageVisible, setPageVisible] = useState(() => !document.hidden);
  const [view, setView] = useState<'conversations' | 'knowledge'>(() =>
    window.location.pathname === KNOWLEDGE_PATH ? 'knowledge' : 'conversations',
  );
  // Whether an assistant takes conversations back (AI_RESPONDER is not `none`); assumed until the
  // server says. Asked again each time the event stream comes back: a server restarted with another
  // responder changes the release button without a reload.
  const [hasAssistant, setHasAssistant] = useState(true);
  const [isAlerting, setAlerting] = useState(areAlertsOn);
  const latest = useRef({ state, selectedId });
  const hasLoaded = useRef(false);
  const olderInFlight = useRef(new Set<string>());
  const readInFlight = useRef(new Set<string>());
  useEffect(() => {
    latest.current = { state, selectedId };
  });

  const showError = useCallback((err: unknown) => setNotice(errorText(err)), []);

  const loadList = useCallback(
    async (filter: ListFilter, cursor?: string) => {
      if (cursor === undefined) dispatch({ type: 'list_requested', filter });
      try {
        const page = await api.listConversations({ state: filter.state, q: filter.q, cursor });
        dispatch({ type: 'list_loaded', filter, page, append: cursor !== undefined });
      } catch (err) {
        dispatch({ type: 'list_failed' });
        showError(err);
      }
    },
    [showError],
  );

  const loadWaiting = useCallback(async () => {
    try {
      const page = await api.listConversations({ state: 'waiting', limit: WAITING_PAGE });
      dispatch({ type: 'conversations_seen', conversations: page.conversations });
    } catch (err) {
      showError(err);
    }
  }, [showError]);

  const loadThread = useCallback(
    async (id: string) => {
      dispatch({ type: 'thread_requested', conversationId: id });
      try {
        dispatch({ type: 'thread_loaded', details: await api.getConversation(id) });
      } catch (err) {
        dispatch({ type: 'thread_failed', conversationId: id });
        showError(err);
      }
    },
    [showError],
  );

  /** Everything shown is reloaded from REST; the stream is already positioned, so no event falls between. */
  const reloadAll = useCallback(() => {
    hasLoaded.current = true;
    const { state: current, selectedId: open } = latest.current;
    dispatch({ type: 'reset' });
    void loadList(current.list.filter);
    void loadWaiting();
    if (open) void loadThread(open);
  }, [loadList, loadWaiting, loadThread]);

  const onEvent = useCallback((event: WireEvent) => {
    if (event.type === 'conversation_updated') {
      const c = event.data;
      const before = latest.current.state.conversations[c.conversation_id];
      // Entering `waiting` (also a new conversation that starts there); a stale copy is no change.
      if (c.state === 'waiting' && before?.state !== 'waiting' && (!before || c.updated_at >= before.updated_at)) {
        const reason = c.handover ? (HANDOVER_REASON_LABELS[c.handover.reason] ?? c.handover.reason) : 'new conversation';
        alertWaiting(c.conversation_id, `${contactLabel(c.contact)} is waiting`, reason, () => selectRef.current(c.conversation_id));
      }
      dispatch({ type: 'conversation_updated', conversation: c });
    } else dispatch({ type: 'message_seen', message: event.data });
  }, []);
  const selectRef = useRef<(id: string) => void>(() => {});

  const connection = useServerEvents({
    onEvent,
    onSync: reloadAll,
    onLost: () => {
      // Without a stream the dashboard still shows the current state (and a 401 leads to the login).
      if (!hasLoaded.current) reloadAll();
      else api.me().catch(() => {});
    },
  });

  useEffect(() => {
    if (connection !== 'live') return;
    api.me().then(
      (r) => setHasAssistant(r.ai_responder !== 'none'),
      () => {},
    );
  }, [connection]);

  // The open thread: load on selection, drop the previous one's messages.
  useEffect(() => {
    if (!selectedId) return;
    void loadThread(selectedId);
    return () => dispatch({ type: 'thread_closed', conversationId: selectedId });
  }, [selectedId, loadThread]);

  useEffect(() => {
    const onPop = () => {
      setSelectedId(conversationIdFromPath(window.location.pathname));
      setView(window.location.pathname === KNOWLEDGE_PATH ? 'knowledge' : 'conversations');
    };
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);

  const select = useCallback((id: string) => {
    setNotice(null);
    setSelectedId(id);
    setView('conversations');
    const path = `/c/${encodeURIComponent(id)}`;
    if (window.location.pathname !== path) window.history.pushState(null, '', path);
  }, []);
  selectRef.current = select;

  const showView = (next: 'conversations' | 'knowledge') => {
    setView(next);
    const path = next === 'knowledge' ? KNOWLEDGE_PATH : selectedId ? `/c/${encodeURIComponent(selectedId)}` : '/';
    if (window.location.pathname !== path) window.history.pushState(null, '', path);
  };

  // The waiting count in the tab title: seen from another tab.
  const waitingCount = Object.values(state.conversations).filter((c) => c.state === 'waiting').length;
  useEffect(() => {
    document.title = waitingCount > 0 ? `(${waitingCount}) Switchboard` : 'Switchboard';
  }, [waitingCount]);
  useEffect(
    () => () => {
      document.title = 'Switchboard';
    },
    [],
  );

  // Audio and the notification permission need a user gesture: the first one on the page.
  useEffect(() => {
    const onGesture = () => {
      if (areAlertsOn()) primeAlerts();
    };
    document.addEventListener('pointerdown', onGesture, { once: true });
    document.addEventListener('keydown', onGesture, { once: true });
    return () => {
      document.removeEventListener('pointerdown', onGesture);
      document.removeEventListener('keydown', onGesture);
    };
  }, []);

  const toggleAlerts = () => {
    const next = !isAlerting;
    setAlertsOn(next);
    setAlerting(next);
    if (next) primeAlerts();
  };

  const selected = selectedId ? state.conversations[selectedId] : undefined;
  const thread = selectedId ? state.threads[selectedId] : undefined;

  useEffect(() => {
    const onVisibility = () => setPageVisible(!document.hidden);
    document.addEventListener('visibilitychange', onVisibility);
    return () => document.removeEventListener('visibilitychange', onVisibility);
  }, []);

  // Whatever arrives in the open conversation while the page is visible counts as read.
  useEffect(() => {
    if (!selected || thread?.status !== 'ready' || selected.unread_count === 0 || !isPageVisible) return;
    const id = selected.conversation_id;
    if (readInFlight.current.has(id)) return;
    readInFlight.current.add(id);
    api
      .markRead(id)
      .then((c) => dispatch({ type: 'conversation_updated', conversation: c }))
      .catch(() => {})
      .finally(() => readInFlight.current.delete(id));
  }, [selected, thread?.status, isPageVisible]);

  /** Resolves false when the page could not be loaded (the error is shown). */
  const loadOlder = useCallback(
    async (id: string, beforeSeq: number): Promise<boolean> => {
      if (olderInFlight.current.has(id)) return true;
      olderInFlight.current.add(id);
      try {
        dispatch({ type: 'older_loaded', conversationId: id, page: await api.olderMessages(id, beforeSeq) });
        return true;
      } catch (err) {
        showError(err);
        return false;
      } finally {
        olderInFlight.current.delete(id);
      }
    },
    [showError],
  );

  const act = useCallback(
    async (action: () => Promise<Conversation>) => {
      setNotice(null);
      try {
        dispatch({ type: 'conversation_updated', conversation: await action() });
      } catch (err) {
        showError(err);
      }
    },
    [showError],
  );

  const filterList = useCallback((filter: ListFilter) => void loadList(filter), [loadList]);

  const takeOver = useCallback((id: string, force = false) => act(() => api.takeOver(id, force)), [act]);

  const send = useCallback(async (id: string, outgoing: OutgoingMessage, idempotencyKey: string) => {
    const message = await api.sendMessage(id, outgoing, idempotencyKey);
    dispatch({ type: 'message_seen', message });
  }, []);

  const retry = useCallback(
    async (m: Message) => {
      setNotice(null);
      try {
        dispatch({ type: 'message_retried', message: await api.retryMessage(m.conversation_id, m.message_id) });
      } catch (err) {
        showError(err);
      }
    },
    [showError],
  );

  return (
    <div className="dashboard">
      <header className="topbar">
        <span className="brand">Switchboard</span>
        <nav className="nav" aria-label="Pages">
          <button
            type="button"
            className="link"
            aria-current={view === 'conversations' ? 'page' : undefined}
            onClick={() => showView('conversations')}
          >
            Conversations
          </button>
          <button
            type="button"
            className="link"
            aria-current={view === 'knowledge' ? 'page' : undefined}
            onClick={() => showView('knowledge')}
          >
            Knowledge
          </button>
        </nav>
        <ConnectionBadge state={connection} />
        <span className="spacer" />
        <button
          type="button"
          className="link small"
          aria-pressed={isAlerting}
          onClick={toggleAlerts}
          title="A sound and a notification when a customer starts waiting"
        >
          {isAlerting ? 'Alerts on' : 'Alerts off'}
        </button>
        <StatusSelector />
        <span className="me" title={me.email}>
          {me.name}
        </span>
        <button type="button" className="link" onClick={onLogOut}>
          Log out
        </button>
      </header>
      <aside className="sidebar">
        <HandoverQueues
          conversations={state.conversations}
          selectedId={selectedId}
          onOpen={select}
          onTakeOver={(id) => {
            select(id);
            void takeOver(id);
          }}
        />
        <ConversationList
          list={state.list}
          conversations={state.conversations}
          selectedId={selectedId}
          onSelect={select}
          onFilter={filterList}
          onLoadMore={() => state.list.nextCursor && void loadList(state.list.filter, state.list.nextCursor)}
        />
      </aside>
      {view === 'knowledge' && (
        <main className="main knowledge-main">
          <KnowledgePage me={me} />
        </main>
      )}
      <main className="main" hidden={view === 'knowledge'}>
        {notice && (
          <div className="notice" role="alert">
            <span>{notice}</span>
            <button type="button" className="link" onClick={() => setNotice(null)} aria-label="Dismiss">
              ×
            </button>
          </div>
        )}
        {selected && thread ? (
          <ThreadPane
            key={selected.conversation_id}
            conversation={selected}
            thread={thread}
            me={me}
            hasAssistant={hasAssistant}
            onLoadOlder={(beforeSeq) => loadOlder(selected.conversation_id, beforeSeq)}
            onTakeOver={(force) => takeOver(selected.conversation_id, force)}
            onRelease={() => act(() => api.release(selected.conversation_id))}
            onResolve={() => act(() => api.resolve(selected.conversation_id))}
            onSend={(outgoing, key) => send(selected.conversation_id, outgoing, key)}
            onRetry={retry}
          />
        ) : (
          <div className="empty">
            {!selectedId ? 'Select a conversation.' : thread?.status === 'error' ? 'This conversation could not be loaded.' : 'Loading…'}
          </div>
        )}
      </main>
      {selected && view === 'conversations' && <DetailsPanel conversation={selected} thread={thread} />}
    </div>
  );
}
