import { useEffect, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import { ApiError, type Conversation, type Message, type Operator, type OutgoingMessage } from '../api.js';
import { formatBytes, formatFullTime } from '../format.js';
import { quoteOf } from '../message-meta.js';
import { useNow } from '../use-now.js';
import { MicIcon, PaperclipIcon, PhotoIcon } from './icons.js';

/** WhatsApp's limit for a text body (the server refuses longer ones). */
const MAX_TEXT_LENGTH = 4096;
/** WhatsApp's media limits; checked here too so the operator learns before uploading. */
const MAX_BYTES = { image: 5 * 1024 * 1024, audio: 16 * 1024 * 1024, video: 16 * 1024 * 1024, document: 100 * 1024 * 1024 };
/** A voice note stops recording by itself at this length. */
export const VOICE_LIMIT_S = 120;
/** Chromium records Opus in WebM; the server remuxes it to Ogg/Opus for WhatsApp. */
const VOICE_MIME = 'audio/webm;codecs=opus';

/** Why this operator cannot write now, or null when they can (SPEC §3 window, §7 ownership). */
export function composerBlock(c: Conversation, me: Operator, now: number): string | null {
  if (c.state === 'resolved') return 'This conversation is resolved.';
  if (c.state !== 'operator') return 'Take over the conversation to reply.';
  if (c.operator?.id !== me.id) return `${c.operator?.name ?? 'Another operator'} is handling this conversation.`;
  if (!c.window_expires_at) return 'The customer has not written yet: WhatsApp allows replies only after they do.';
  if (Date.parse(c.window_expires_at) <= now) {
    return (
      `The 24-hour window closed at ${formatFullTime(c.window_expires_at)}: WhatsApp allows free-form replies only within 24 hours of the customer's last message. ` +
      'The customer must write first to reopen it (template messages are not supported yet).'
    );
  }
  return null;
}

/** A random idempotency key; getRandomValues works on plain-http LAN addresses too, unlike randomUUID. */
function newKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

interface Attachment {
  kind: 'photo' | 'document' | 'voice';
  file: Blob;
  name: string;
  /** An object URL for the preview, revoked when discarded. */
  url: string;
  /** Recorded length of a voice note, in seconds. */
  seconds?: number;
}

function sizeLimit(mime: string): number {
  const top = mime.split('/')[0];
  return top === 'image' ? MAX_BYTES.image : top === 'audio' ? MAX_BYTES.audio : top === 'video' ? MAX_BYTES.video : MAX_BYTES.document;
}

function clock(seconds: number): string {
  return `${Math.floor(seconds / 60)}:${String(Math.floor(seconds % 60)).padStart(2, '0')}`;
}

interface Props {
  conversation: Conversation;
  me: Operator;
  onSend(message: OutgoingMessage, idempotencyKey: string): Promise<void>;
  replyTo: Message | null;
  onCancelReply(): void;
}

export function Composer({ conversation, me, onSend, replyTo, onCancelReply }: Props) {
  const now = useNow(15_000);
  const [text, setText] = useState('');
  const [attachment, setAttachment] = useState<Attachment | null>(null);
  const [isSending, setSending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [recording, setRecording] = useState<{ startedAt: number; elapsed: number } | null>(null);
  const recorder = useRef<MediaRecorder | null>(null);
  const photoInput = useRef<HTMLInputElement>(null);
  const documentInput = useRef<HTMLInputElement>(null);
  const textArea = useRef<HTMLTextAreaElement>(null);
  // A retry of the same content reuses its key, so a send whose answer was lost is not sent twice [OUT2].
  const pending = useRef<{ signature: string; key: string } | null>(null);
  const block = composerBlock(conversation, me, now);

  useEffect(
    () => () => {
      recorder.current?.stream.getTracks().forEach((t) => t.stop());
    },
    [],
  );
  useEffect(
    () => () => {
      if (attachment) URL.revokeObjectURL(attachment.url);
    },
    [attachment],
  );
  useEffect(() => {
    if (replyTo) textArea.current?.focus();
  }, [replyTo]);

  // The recording timer, and the limit.
  useEffect(() => {
    if (!recording) return;
    const timer = setInterval(() => {
      const elapsed = (Date.now() - recording.startedAt) / 1000;
      if (elapsed >= VOICE_LIMIT_S) stopRecording();
      else setRecording((r) => (r ? { ...r, elapsed } : r));
    }, 250);
    return () => clearInterval(timer);
  }, [recording?.startedAt]);

  const discard = () => {
    setAttachment(null);
    setError(null);
  };

  const pick = (kind: 'photo' | 'document', file: File | undefined) => {
    if (!file) return;
    const limit = sizeLimit(kind === 'photo' ? file.type || 'image/*' : file.type);
    if (file.size > limit) {
      setError(`${file.name} is ${formatBytes(file.size)}: WhatsApp accepts at most ${formatBytes(limit)} for this kind of file.`);
      return;
    }
    setError(null);
    setAttachment({ kind, file, name: file.name, url: URL.createObjectURL(file) });
  };

  const startRecording = async () => {
    setError(null);
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch {
      setError('No microphone: allow the browser to use it to record a voice note.');
      return;
    }
    const mimeType = MediaRecorder.isTypeSupported(VOICE_MIME) ? VOICE_MIME : '';
    const rec = new MediaRecorder(stream, mimeType ? { mimeType } : {});
    const chunks: Blob[] = [];
    const startedAt = Date.now();
    rec.ondataavailable = (e) => {
      if (e.data.size > 0) chunks.push(e.data);
    };
    rec.onstop = () => {
      stream.getTracks().forEach((t) => t.stop());
      recorder.current = null;
      setRecording(null);
      const type = rec.mimeType || mimeType || 'audio/webm';
      const blob = new Blob(chunks, { type });
      if (blob.size === 0) {
        setError('Nothing was recorded.');
        return;
      }
      setAttachment({
        kind: 'voice',
        file: blob,
        name: 'voice-note.webm',
        url: URL.createObjectURL(blob),
        seconds: Math.min(VOICE_LIMIT_S, (Date.now() - startedAt) / 1000),
      });
    };
    recorder.current = rec;
    rec.start(250);
    setRecording({ startedAt, elapsed: 0 });
  };

  function stopRecording() {
    if (recorder.current?.state === 'recording') recorder.current.stop();
  }

  const submit = async (e?: FormEvent) => {
    e?.preventDefault();
    const body = text.trim();
    if ((!body && !attachment) || block || isSending || recording) return;
    const signature = `${body}\u0000${attachment?.url ?? ''}\u0000${replyTo?.message_id ?? ''}`;
    if (pending.current?.signature !== signature) pending.current = { signature, key: newKey() };
    setSending(true);
    setError(null);
    try {
      await onSend(
        attachment ? { file: attachment.file, filename: attachment.name, ...(body ? { text: body } : {}) } : { text: body },
        pending.current.key,
      );
      pending.current = null;
      setText('');
      setAttachment(null);
    } catch (err) {
      setError(err instanceof ApiError ? sendError(err) : 'Not sent: check the connection and try again.');
    } finally {
      setSending(false);
    }
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) void submit(e);
    if (e.key === 'Escape' && replyTo) onCancelReply();
  };

  const isDisabled = block !== null;
  return (
    <form className="composer" onSubmit={submit} aria-label="Composer">
      {block && (
        <p className="composer-block small" data-composer-block>
          {block}
        </p>
      )}
      {error && (
        <p className="form-error small" role="alert">
          {error}
        </p>
      )}
      {replyTo && !isDisabled && (
        <div className="composer-reply small" data-replying-to={replyTo.message_id}>
          <span className="muted">Replying to</span> <q>{quoteOf(replyTo)}</q>
          <button type="button" className="icon" aria-label="Stop quoting" title="Stop quoting this message" onClick={onCancelReply}>
            ×
          </button>
        </div>
      )}
      {attachment && !isDisabled && (
        <div className="attachment" data-attachment={attachment.kind}>
          {attachment.kind === 'photo' && <img src={attachment.url} alt={`Preview of ${attachment.name}`} />}
          {attachment.kind === 'voice' && <audio controls src={attachment.url} aria-label="Voice note preview" />}
          <span className="small">
            {attachment.kind === 'voice' ? `Voice note, ${clock(attachment.seconds ?? 0)}` : attachment.name}
            <span className="muted"> · {formatBytes(attachment.file.size)}</span>
          </span>
          <button type="button" className="small" onClick={discard}>
            Discard
          </button>
        </div>
      )}
      {recording && (
        <div className="recording small" role="status" data-recording>
          <span className="rec-dot" aria-hidden="true" /> Recording {clock(recording.elapsed)} / {clock(VOICE_LIMIT_S)}
          <button type="button" className="small" onClick={stopRecording}>
            Stop
          </button>
        </div>
      )}
      <div className="composer-row">
        <div className="composer-tools">
          <button
            type="button"
            className="icon"
            aria-label="Attach a photo"
            title="Attach a photo"
            disabled={isDisabled || !!recording}
            onClick={() => photoInput.current?.click()}
          >
            <PhotoIcon />
          </button>
          <button
            type="button"
            className="icon"
            aria-label="Attach a document"
            title="Attach a document"
            disabled={isDisabled || !!recording}
            onClick={() => documentInput.current?.click()}
          >
            <PaperclipIcon />
          </button>
          <button
            type="button"
            className="icon"
            aria-label="Record a voice note"
            title={`Record a voice note (up to ${VOICE_LIMIT_S / 60} min)`}
            disabled={isDisabled || !!recording || !!attachment}
            onClick={() => void startRecording()}
          >
            <MicIcon />
          </button>
          <input
            ref={photoInput}
            type="file"
            accept="image/jpeg,image/png,image/webp"
            hidden
            aria-label="Photo file"
            onChange={(e) => {
              pick('photo', e.target.files?.[0]);
              e.target.value = '';
            }}
          />
          <input
            ref={documentInput}
            type="file"
            hidden
            aria-label="Document file"
            onChange={(e) => {
              pick('document', e.target.files?.[0]);
              e.target.value = '';
            }}
          />
        </div>
        <textarea
          ref={textArea}
          aria-label="Reply"
          dir="auto"
          placeholder={block ? '' : attachment ? 'Add a caption (optional)' : 'Write a reply (Enter sends, Shift+Enter new line)'}
          rows={2}
          maxLength={MAX_TEXT_LENGTH}
          disabled={isDisabled}
          value={text}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={onKeyDown}
        />
        <button type="submit" className="primary" disabled={isDisabled || isSending || !!recording || (text.trim() === '' && !attachment)}>
          {isSending ? 'Sending…' : 'Send'}
        </button>
      </div>
    </form>
  );
}

function sendError(err: ApiError): string {
  switch (err.code) {
    case 'payload_too_large':
      return 'The file is too large for WhatsApp.';
    case 'window_closed':
      return 'The 24-hour window has closed: the customer must write first.';
    case 'not_owner':
      return 'Only the operator handling this conversation can reply.';
    default:
      return `${err.message} (${err.code})`;
  }
}
