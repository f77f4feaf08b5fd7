import { memo } from 'react';
import type { Message } from '../api.js';
import { formatBytes, formatFullTime, formatTime } from '../format.js';

const TICKS: Record<Message['status'], { mark: string; label: string }> = {
  received: { mark: '', label: 'received' },
  pending: { mark: '◷', label: 'sending' },
  sent: { mark: '✓', label: 'sent' },
  delivered: { mark: '✓✓', label: 'delivered' },
  read: { mark: '✓✓', label: 'read' },
  failed: { mark: '!', label: 'failed' },
};

const ROLE_LABELS: Record<Message['role'], string> = { user: 'Customer', assistant: 'AI', operator: 'Operator', system: 'System' };

/** One message. Text is rendered as text, never as HTML (SPEC §10). */
export const MessageView = memo(function MessageView({ message: m }: { message: Message }) {
  if (m.role === 'system' || m.type === 'event') {
    return (
      <div className="message system" data-message-id={m.message_id}>
        <span>{m.text ?? m.type}</span>
        <time dateTime={m.timestamp} title={formatFullTime(m.timestamp)}>{formatTime(m.timestamp)}</time>
      </div>
    );
  }
  const isOutbound = m.role === 'assistant' || m.role === 'operator';
  const isAudio = m.type === 'voice' || m.type === 'audio';
  const tick = TICKS[m.status];
  return (
    <div className={`message ${isOutbound ? 'outbound' : 'inbound'} role-${m.role}`} data-message-id={m.message_id} data-status={m.status}>
      <div className="bubble">
        {isOutbound && <div className="author small">{m.role === 'operator' ? m.operator?.name || ROLE_LABELS.operator : ROLE_LABELS.assistant}</div>}
        {m.reply_to && <div className="reply-to small muted">↪ reply</div>}
        {m.media && <MediaView message={m} />}
        {isAudio ? <Transcript message={m} /> : m.text !== null && <p className="text">{m.text}</p>}
        {!m.media && m.text === null && <p className="text muted">[{m.type}]</p>}
        {m.error && (
          <div className="error-badge" role="note" title={`provider error ${m.error.code}`}>
            {m.error.code}: {m.error.title}
          </div>
        )}
        <div className="meta small">
          <time dateTime={m.timestamp} title={formatFullTime(m.timestamp)}>{formatTime(m.timestamp)}</time>
          {isOutbound && tick.mark && (
            <span className={`tick tick-${m.status}`} aria-label={tick.label} title={tick.label}>{tick.mark}</span>
          )}
        </div>
      </div>
    </div>
  );
});

function Transcript({ message: m }: { message: Message }) {
  const transcript = m.media?.transcript ?? m.text;
  if (!transcript) return null;
  return <p className="transcript"><span className="muted small">Transcript: </span>{transcript}</p>;
}

function MediaView({ message: m }: { message: Message }) {
  const media = m.media!;
  if (media.status === 'pending') return <div className="media-state muted small">Downloading {m.type}…</div>;
  if (media.status === 'failed' || !media.url) {
    return <div className="media-state failed small">{m.type} could not be downloaded{media.error ? ` (${media.error})` : ''}</div>;
  }
  switch (m.type) {
    case 'voice':
    case 'audio':
      return <audio controls preload="none" src={media.url} />;
    case 'photo':
    case 'sticker':
      return (
        <a href={media.url} target="_blank" rel="noreferrer">
          <img className={m.type} src={media.url} alt={media.caption ?? m.type} loading="lazy" />
        </a>
      );
    case 'video':
      return <video controls preload="metadata" src={media.url} />;
    default:
      return (
        <a className="document" href={media.url} download={media.filename ?? ''}>
          <span className="file-kind" aria-hidden="true">{fileKind(media.filename, media.mime_type)}</span>
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
