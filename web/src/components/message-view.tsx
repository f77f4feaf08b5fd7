import { createContext, memo, useContext, useState } from 'react';
import type { Message } from '../api.js';
import { formatBytes, formatFullTime, formatTime } from '../format.js';
import { editsOf, eventOf, formatScore, noticeLabel, producerOf, quoteOf, reactionOf, transcriptOf } from '../message-meta.js';

const TICKS: Record<Message['status'], { mark: string; label: string }> = {
  received: { mark: '', label: 'received' },
  pending: { mark: '◷', label: 'sending' },
  sent: { mark: '✓', label: 'sent' },
  delivered: { mark: '✓✓', label: 'delivered' },
  read: { mark: '✓✓', label: 'read' },
  failed: { mark: '!', label: 'failed' },
};

const ROLE_LABELS: Record<Message['role'], string> = { user: 'Customer', assistant: 'AI', operator: 'Operator', system: 'System' };

export type TeachMode = 'save' | 'correct';

/** What a message offers the operator; given once by the thread (so rows stay memoised). */
export interface MessageActions {
  /** The owner may reply to a specific message. */
  canReply: boolean;
  onReply(m: Message): void;
  onRetry(m: Message): Promise<void>;
  onTeach(m: Message, mode: TeachMode): void;
  onOpenPhoto(m: Message): void;
}

export const MessageActionsContext = createContext<MessageActions | null>(null);

/** One message. Text is rendered as text, never as HTML (SPEC §10). `quoted`: the message it replies to, when loaded. */
export const MessageView = memo(function MessageView({ message: m, quoted }: { message: Message; quoted?: Message | undefined }) {
  const actions = useContext(MessageActionsContext);
  const [showsVersions, setShowsVersions] = useState(false);
  const producer = producerOf(m);
  // An automatic notice is a system message sent to the customer: a bubble with ticks, not a marker.
  const isNotice = producer?.kind === 'notice';
  if (m.type === 'event' || (m.role === 'system' && !isNotice)) {
    const { event, label } = eventOf(m);
    return (
      <div
        className={`message system${event ? ` event-${event}` : ''}`}
        data-message-id={m.message_id}
        data-event={event ?? undefined}
        role="note"
      >
        <span>{label}</span>
        <time dateTime={m.timestamp} title={formatFullTime(m.timestamp)}>
          {formatTime(m.timestamp)}
        </time>
      </div>
    );
  }
  const isOutbound = m.role === 'assistant' || m.role === 'operator' || isNotice;
  const isAudio = m.type === 'voice' || m.type === 'audio';
  const tick = TICKS[m.status];
  if (m.deleted_at) {
    // [RV1] nothing of what the customer deleted is left to show: the notice takes its place.
    return (
      <div className="message inbound deleted" data-message-id={m.message_id} data-deleted="true">
        <div className="bubble">
          <p className="text deleted-notice" title={`Deleted by the customer ${formatFullTime(m.deleted_at)}`}>
            <span aria-hidden="true">⊘ </span>This message was deleted
          </p>
          <div className="meta small">
            <span className="spacer" />
            <time dateTime={m.timestamp} title={formatFullTime(m.timestamp)}>
              {formatTime(m.timestamp)}
            </time>
          </div>
        </div>
      </div>
    );
  }
  const reaction = reactionOf(m);
  if (reaction) {
    // A reaction is about another message: the emoji, then that message quoted (when it is loaded).
    return (
      <div className="message inbound reaction role-user" data-message-id={m.message_id} data-reaction={reaction.emoji ?? ''}>
        <div className="bubble">
          <p className="text reaction-line">
            {reaction.emoji ? (
              <>
                Reacted <span className="reaction-emoji">{reaction.emoji}</span> to
              </>
            ) : (
              'Removed a reaction from'
            )}
          </p>
          <blockquote className="quote small" data-reply-to={m.reply_to ?? undefined}>
            {quoted ? quoteOf(quoted) : 'an earlier message'}
          </blockquote>
          <div className="meta small">
            <span className="spacer" />
            <time dateTime={m.timestamp} title={formatFullTime(m.timestamp)}>
              {formatTime(m.timestamp)}
            </time>
          </div>
        </div>
      </div>
    );
  }
  return (
    <div
      className={`message ${isOutbound ? 'outbound' : 'inbound'} role-${m.role}`}
      data-message-id={m.message_id}
      data-status={m.status}
      data-edited={m.edited_at ? 'true' : undefined}
    >
      <div className="bubble">
        {isOutbound && (
          <div className="author small">
            {m.role === 'operator' ? m.operator?.name || ROLE_LABELS.operator : isNotice ? 'Switchboard' : ROLE_LABELS.assistant}
            {producer && <ProducerLabel producer={producer} />}
          </div>
        )}
        {m.reply_to && (
          <blockquote className="quote small" data-reply-to={m.reply_to}>
            {quoted ? quoteOf(quoted) : 'earlier message'}
          </blockquote>
        )}
        {m.media && <MediaView message={m} />}
        {isAudio ? (
          <Transcript message={m} />
        ) : (
          m.text !== null && (
            <p className="text" dir="auto">
              {m.text}
            </p>
          )
        )}
        {!m.media && m.text === null && <p className="text muted">[{m.type}]</p>}
        {m.error && (
          <div className="error-badge" role="note" title={`provider error ${m.error.code}`}>
            {m.error.code}: {m.error.title}
          </div>
        )}
        <div className="meta small">
          {actions && <MessageButtons message={m} actions={actions} />}
          <span className="spacer" />
          {m.edited_at && <EditedMark message={m} isOpen={showsVersions} onToggle={() => setShowsVersions(!showsVersions)} />}
          <time dateTime={m.timestamp} title={formatFullTime(m.timestamp)}>
            {formatTime(m.timestamp)}
          </time>
          {isOutbound && tick.mark && (
            <span className={`tick tick-${m.status}`} role="img" aria-label={tick.label} title={tick.label}>
              {tick.mark}
            </span>
          )}
        </div>
        {m.edited_at && showsVersions && <EditHistory message={m} />}
      </div>
    </div>
  );
});

/** [ED1] "edited": the earlier versions on hover (title); a click shows them in the bubble with their times. */
function EditedMark({ message: m, isOpen, onToggle }: { message: Message; isOpen: boolean; onToggle(): void }) {
  const summary = editsOf(m)
    .map((v) => `${formatTime(v.since)}: ${v.text ?? '(no text)'}`)
    .join('\n');
  return (
    <button
      type="button"
      className="link small edited"
      aria-expanded={isOpen}
      onClick={onToggle}
      title={summary ? `Edited ${formatFullTime(m.edited_at!)}. Before:\n${summary}` : `Edited ${formatFullTime(m.edited_at!)}`}
    >
      edited
    </button>
  );
}

function EditHistory({ message: m }: { message: Message }) {
  const versions = editsOf(m);
  return (
    <div className="edit-history" role="region" aria-label="Earlier versions">
      <div className="edit-history-title small muted">Earlier versions</div>
      {versions.map((v, i) => (
        <div className="edit-version" key={i}>
          <time dateTime={v.since} title={`current until ${formatFullTime(v.replaced_at)}`}>
            {formatTime(v.since)}
          </time>
          <span className="edit-text" dir="auto">
            {v.text ?? '(no text)'}
          </span>
        </div>
      ))}
      {versions.length === 0 && <div className="muted small">No earlier version kept</div>}
    </div>
  );
}

function ProducerLabel({ producer: p }: { producer: NonNullable<ReturnType<typeof producerOf>> }) {
  if (p.kind === 'notice')
    return (
      <span className="producer notice-label" data-producer="notice">
        {' '}
        · automatic notice: {noticeLabel(p.notice)}
      </span>
    );
  if (p.kind === 'faq') {
    return (
      <span className="producer" data-producer="faq" title={p.question ? `matched: ${p.question}` : undefined}>
        {' '}
        · FAQ match{p.score !== null ? ` ${formatScore(p.score)}` : ''}
        {p.question && (
          <span className="faq-question">
            : “<bdi>{p.question}</bdi>”
          </span>
        )}
      </span>
    );
  }
  return (
    <span className="producer" data-producer="ai">
      {' '}
      · {p.model ?? 'AI model'}
      {p.isClarifying ? ' · clarifying question' : ''}
      {p.latencyMs !== null ? <span className="muted"> · {(p.latencyMs / 1000).toFixed(1)} s</span> : null}
    </span>
  );
}

function MessageButtons({ message: m, actions }: { message: Message; actions: MessageActions }) {
  const [isRetrying, setRetrying] = useState(false);
  const producer = producerOf(m);
  return (
    <span className="message-actions">
      {m.status === 'failed' && (m.role === 'operator' || m.role === 'assistant' || producer?.kind === 'notice') && (
        <button
          type="button"
          className="small danger"
          disabled={isRetrying}
          onClick={() => {
            setRetrying(true);
            void actions.onRetry(m).finally(() => setRetrying(false));
          }}
        >
          {isRetrying ? 'Retrying…' : 'Retry'}
        </button>
      )}
      {actions.canReply && m.status !== 'failed' && (
        <button type="button" className="link small" onClick={() => actions.onReply(m)} title="Answer quoting this message">
          Reply
        </button>
      )}
      {/* A model's reply, or a FAQ reply that matched no entry (a clarifying question): nothing to correct, so save it. */}
      {(producer?.kind === 'ai' || (producer?.kind === 'faq' && !producer.knowledgeId)) && (
        <button type="button" className="link small" onClick={() => actions.onTeach(m, 'save')}>
          Save as Q&amp;A
        </button>
      )}
      {producer?.kind === 'faq' && producer.knowledgeId && (
        <button type="button" className="link small" onClick={() => actions.onTeach(m, 'correct')}>
          Correct the answer
        </button>
      )}
    </span>
  );
}

function Transcript({ message: m }: { message: Message }) {
  const { state, text } = transcriptOf(m);
  if (state === 'pending')
    return (
      <p className="transcript-state muted small" data-transcript="pending">
        Transcribing…
      </p>
    );
  if (state === 'failed')
    return (
      <p className="transcript-state failed small" data-transcript="failed">
        Transcript failed
      </p>
    );
  if (state === 'unavailable')
    return (
      <p className="transcript-state muted small" data-transcript="unavailable">
        No transcript (transcription not configured)
      </p>
    );
  const shown = text ?? m.text;
  if (!shown) return null;
  return (
    <p className="transcript" data-transcript="done" dir="auto">
      <span className="muted small">Transcript: </span>
      {shown}
    </p>
  );
}

function MediaView({ message: m }: { message: Message }) {
  const actions = useContext(MessageActionsContext);
  const media = m.media!;
  if (media.status === 'pending') return <div className="media-state muted small">Downloading {m.type}…</div>;
  if (media.status === 'failed' || !media.url) {
    return (
      <div className="media-state failed small">
        {m.type} could not be downloaded{media.error ? ` (${media.error})` : ''}
      </div>
    );
  }
  switch (m.type) {
    case 'voice':
    case 'audio':
      return <audio controls preload="metadata" src={media.url} aria-label={m.type === 'voice' ? 'Voice note' : 'Audio'} />;
    case 'photo':
    case 'sticker':
      return (
        <button
          type="button"
          className="photo-open"
          onClick={() => actions?.onOpenPhoto(m)}
          aria-label={`Open ${m.type}${media.caption ? `: ${media.caption}` : ''}`}
        >
          <img className={m.type} src={media.url} alt={media.caption ?? m.type} loading="lazy" />
        </button>
      );
    case 'video':
      return <video controls preload="metadata" src={media.url} />;
    default:
      return (
        <a className="document" href={media.url} download={media.filename ?? ''}>
          <span className="file-kind" aria-hidden="true">
            {fileKind(media.filename, media.mime_type)}
          </span>
          {media.filename ?? 'document'}
          {media.size ? <span className="muted small"> · {formatBytes(media.size)}</span> : null}
        </a>
      );
  }
}

/** A short label for a document: its extension, else the MIME subtype ("PDF", "DOCX"). */
function fileKind(filename: string | null, mimeType: string | null): string {
  const ext = filename?.includes('.') ? filename.slice(filename.lastIndexOf('.') + 1) : mimeType?.split('/')[1]?.split(/[;+.-]/)[0];
  return (ext || 'file').slice(0, 5).toUpperCase();
}
