import { useEffect, useState, type KeyboardEvent } from 'react';
import type { Conversation } from '../api.js';
import { contactLabel, formatTime, messagePreview, STATE_LABELS } from '../format.js';
import type { DashboardState, ListFilter } from '../state.js';

const SEARCH_DELAY_MS = 300;

interface Props {
  list: DashboardState['list'];
  conversations: Record<string, Conversation>;
  selectedId: string | null;
  onSelect(id: string): void;
  onFilter(filter: ListFilter): void;
  onLoadMore(): void;
}

/** Arrow keys, Home and End move between conversations; Enter (a button's own key) opens one. */
function moveFocus(e: KeyboardEvent<HTMLUListElement>): void {
  const buttons = Array.from(e.currentTarget.querySelectorAll<HTMLButtonElement>('.conversation-item'));
  const at = buttons.indexOf(document.activeElement as HTMLButtonElement);
  let next: number | null = null;
  if (e.key === 'ArrowDown') next = at < 0 ? 0 : Math.min(at + 1, buttons.length - 1);
  else if (e.key === 'ArrowUp') next = at < 0 ? 0 : Math.max(at - 1, 0);
  else if (e.key === 'Home') next = 0;
  else if (e.key === 'End') next = buttons.length - 1;
  const target = next === null ? undefined : buttons[next];
  if (!target) return;
  e.preventDefault();
  target.focus();
  target.scrollIntoView({ block: 'nearest' });
}

/** All conversations, newest activity first, live; search and state filter are the server's (SPEC §7). */
export function ConversationList({ list, conversations, selectedId, onSelect, onFilter, onLoadMore }: Props) {
  const [query, setQuery] = useState(list.filter.q);
  const { state } = list.filter;

  useEffect(() => {
    const q = query.trim();
    if (q === list.filter.q) return;
    const timer = setTimeout(() => onFilter({ state, q }), SEARCH_DELAY_MS);
    return () => clearTimeout(timer);
  }, [query, state, list.filter.q, onFilter]);

  return (
    <section className="conversations" aria-label="Conversations">
      <div className="list-controls">
        <input
          type="search"
          placeholder="Search name, number, text"
          aria-label="Search conversations"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
        />
        <select aria-label="Filter by state" value={state} onChange={(e) => onFilter({ state: e.target.value, q: query.trim() })}>
          <option value="">all</option>
          <option value="ai">AI</option>
          <option value="waiting">waiting</option>
          <option value="operator">operator</option>
          <option value="resolved">resolved</option>
        </select>
      </div>
      <ul className="conversation-list" aria-label="Conversation list (arrow keys move, Enter opens)" onKeyDown={moveFocus}>
        {list.ids.map((id) => {
          const c = conversations[id];
          if (!c) return null;
          return (
            <li key={id}>
              <button
                type="button"
                data-conversation-id={id}
                className={`conversation-item${id === selectedId ? ' selected' : ''}${c.unread_count > 0 ? ' unread' : ''}`}
                aria-current={id === selectedId ? 'true' : undefined}
                onClick={() => onSelect(id)}
              >
                <span className="row">
                  <span className="name" dir="auto">
                    {contactLabel(c.contact)}
                  </span>
                  <span className="time muted small">{formatTime(c.last_message?.timestamp ?? c.updated_at)}</span>
                </span>
                <span className="row">
                  <Preview message={c.last_message} />
                  <span className={`state state-${c.state}`}>{STATE_LABELS[c.state] ?? c.state}</span>
                  {c.unread_count > 0 && (
                    <span className="unread-badge" aria-label={`${c.unread_count} unread`}>
                      {c.unread_count}
                    </span>
                  )}
                </span>
              </button>
            </li>
          );
        })}
      </ul>
      {list.status === 'loading' && <p className="muted small center">Loading…</p>}
      {list.status === 'ready' && list.ids.length === 0 && (
        <p className="muted small center">No conversations{list.filter.q ? ' match' : ' yet'}.</p>
      )}
      {list.status === 'error' && <p className="form-error small center">Could not load conversations.</p>}
      {list.nextCursor && list.status !== 'loading' && (
        <button type="button" className="load-more" onClick={onLoadMore}>
          Load more
        </button>
      )}
    </section>
  );
}

/** The last message's preview: "Not sent" when the provider refused it, who wrote it, then the text in its own direction, cut at its end. */
function Preview({ message }: { message: Conversation['last_message'] }) {
  const { who, text, failed } = messagePreview(message);
  return (
    <span className="preview muted">
      {failed && (
        <span className="preview-failed" title={`Not sent — ${failed}`}>
          Not sent
        </span>
      )}
      {who && <span className="preview-who">{who}</span>}
      <span className="preview-text" dir="auto">
        {text}
      </span>
    </span>
  );
}
