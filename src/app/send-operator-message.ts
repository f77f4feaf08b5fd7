import { createHash, randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { presentMessage } from '../api/present.js';
import type { Message } from '../api/types.js';
import { canSend } from '../chat/conversation-state.js';
import { DomainError, isDomainError } from '../chat/errors.js';
import type { ConversationState, Media, MessageType, Provider } from '../chat/types.js';
import { assertWindowOpen } from '../chat/window.js';
import { Mp4FormatError, whatsAppMp4Problem } from '../media/mp4-codecs.js';
import { placeFile, type SpooledUpload } from '../media/spool-upload.js';
import { checkUpload, VOICE_MIME_TYPE, type UploadKind } from '../media/upload-rules.js';
import { prepareOpusAudio } from '../media/voice-note.js';
import { completeParts } from '../store/conversation.store.js';
import type { Store } from '../store/database.js';
import { insertMedia, putMediaBlob } from '../store/media.store.js';
import { findMessage, findMessageByClientKey } from '../store/message.store.js';
import type { ConversationRow, MessageRow } from '../store/schema.js';
import type { AuthenticatedOperator } from './authenticate.js';
import type { AppContext } from './context.js';
import { appendOutbound } from './append-outbound.js';
import { lockConversation, requireConversation } from './conversation-view.js';
import { mediaFilePath } from './download-media.js';

/** A file the HTTP layer received (spooled to a temp file, which the caller removes afterwards). */
export interface OperatorUpload {
  file: SpooledUpload;
  /** The client's name for the file, as sent; null when none. */
  filename: string | null;
  /** The part's declared content type; null when none. */
  declaredType: string | null;
  /** What the operator sends it as (form field `type`); null to infer it from the type. */
  kind: UploadKind | null;
}

export interface OperatorMessageInput {
  /** The message text, or a media message's caption; null for media without caption. */
  text: string | null;
  /** The `message_id` of a message of this conversation that this one answers (WhatsApp reply context). */
  replyTo?: string | null;
  /** A photo, document, voice note, audio or video; absent for a text message. */
  upload?: OperatorUpload | null;
  /** `Idempotency-Key` header, else the body's `client_message_id`; null for no idempotency. */
  idempotencyKey: string | null;
}

export interface SentMessage {
  message: Message;
  /** false when the idempotency key named a message stored earlier: that message is returned. */
  created: boolean;
}

const MESSAGE_TYPE: Record<UploadKind, MessageType> = {
  photo: 'photo',
  document: 'document',
  voice: 'voice',
  audio: 'audio',
  video: 'video',
};

/** What a repeat must match to be the same message: its type and text (caption). */
function replay(existing: MessageRow, type: MessageType | null, text: string | null): SentMessage {
  if (existing.text !== text || (type !== null && existing.type !== type)) {
    throw new DomainError('conflict', 'this idempotency key was used for a different message', { message_id: existing.message_id });
  }
  return { message: presentMessage(existing), created: false };
}

type Db = Store['reader'];

/** Ownership, the 24 h window and the reply target: what must hold before anything is stored. */
async function checkSendable(db: Db, actor: AuthenticatedOperator, row: ConversationRow, replyTo: string | null, now: Date) {
  canSend({ state: row.state as ConversationState, operator_id: row.operator_id }, actor);
  assertWindowOpen(row.last_inbound_at ? new Date(row.last_inbound_at) : null, now);
  if (replyTo !== null && !(await findMessage(db, row.id, replyTo))) {
    throw new DomainError('validation_failed', `reply_to: no message ${replyTo} in this conversation`, { field: 'reply_to' });
  }
  return row;
}

/**
 * The checks of `sendOperatorMessage` that need no input beyond the URL and the actor: the
 * conversation exists, the actor owns it, its window is open. The HTTP layer runs them before it
 * receives an upload, so a refused send does not first transfer megabytes. A key naming a stored
 * message passes (its repeat is answered with that message).
 */
export async function checkOperatorCanSend(
  ctx: Pick<AppContext, 'store'>,
  actor: AuthenticatedOperator,
  conversationId: string,
  idempotencyKey: string | null,
  now = new Date(),
): Promise<void> {
  if (idempotencyKey !== null && (await findMessageByClientKey(ctx.store.reader, conversationId, idempotencyKey))) return;
  await checkSendable(ctx.store.reader, actor, await requireConversation(ctx.store.reader, conversationId), null, now);
}

/** A file name safe to show and to put in a Content-Disposition: no path, no control characters. */
function safeFilename(name: string | null, kind: UploadKind, remuxed: boolean): string | null {
  // eslint-disable-next-line no-control-regex
  let clean = basename((name ?? '').replace(/\\/g, '/'))
    .replace(/[\u0000-\u001f\u007f"]/g, '')
    .trim()
    .slice(0, 200);
  if (kind === 'voice' || (remuxed && clean)) clean = clean ? clean.replace(/\.(webm|weba|ogg|oga|opus)$/i, '') + '.ogg' : 'voice-note.ogg';
  return clean || null;
}

/** The stored bytes of an accepted upload, before they are placed. */
interface PreparedBytes {
  kind: UploadKind;
  mimeType: string;
  size: number;
  sha256: string;
  filename: string | null;
  /** In memory after a remux (or for MEDIA_STORE=database); otherwise the spooled file is used as is. */
  bytes: Buffer | null;
}

async function prepareUpload(ctx: Pick<AppContext, 'config'>, upload: OperatorUpload, caption: string | null): Promise<PreparedBytes> {
  const accepted = checkUpload({
    declaredType: upload.declaredType,
    kind: upload.kind,
    size: upload.file.size,
    head: upload.file.head,
    mediaMaxBytes: ctx.config.media.maxBytes,
  });
  if ((accepted.kind === 'voice' || accepted.kind === 'audio') && caption !== null) {
    throw new DomainError(
      'validation_failed',
      'text: WhatsApp shows no caption on audio or voice notes; send the text as its own message',
      { field: 'text' },
    );
  }
  let bytes: Buffer | null = null;
  let mimeType = accepted.type;
  let remuxed = false;
  if (accepted.type === 'audio/ogg' || accepted.type === 'audio/webm') {
    // Voice notes are bounded at 16 MB (KIND_MAX_BYTES), so reading them whole is bounded too.
    const opus = prepareOpusAudio(await readFile(upload.file.path), accepted.type);
    remuxed = opus.remuxed;
    if (remuxed) bytes = opus.bytes;
    mimeType = VOICE_MIME_TYPE;
  }
  if (accepted.type === 'video/mp4' || accepted.type === 'video/3gpp' || accepted.type === 'audio/mp4') {
    // Bounded at 16 MB like voice notes; the sample descriptions may sit at the end of the file.
    const whole = await readFile(upload.file.path);
    let problem: string | null;
    try {
      problem = whatsAppMp4Problem(whole, accepted.kind === 'video' ? 'video' : 'audio');
    } catch (err) {
      if (!(err instanceof Mp4FormatError)) throw err;
      problem = `the file is damaged (${err.message})`;
    }
    if (problem) throw new DomainError('validation_failed', `${accepted.type} cannot be sent: ${problem}`, { field: 'file' });
    if (ctx.config.mediaStore === 'database') bytes = whole;
  }
  if (!bytes && ctx.config.mediaStore === 'database') bytes = await readFile(upload.file.path);
  return {
    kind: accepted.kind,
    mimeType,
    size: bytes ? bytes.length : upload.file.size,
    sha256: remuxed && bytes ? createHash('sha256').update(bytes).digest('hex') : upload.file.sha256,
    filename: safeFilename(upload.filename, accepted.kind, remuxed),
    bytes,
  };
}

/**
 * An operator's message [OUT1][OUT2]: text, or a photo, document, voice note, audio or video with
 * an optional caption. Only the owning operator of an `operator` conversation may send
 * (`not_owner`), only inside the 24 h window (`window_closed`), and `replyTo` must name a message of
 * the conversation; an upload must pass its type, content and size checks (REFERENCE §1.12). All of
 * this is checked before anything is stored. The message is stored `pending` with a generated id
 * [ID3][ID6] and its `outbox.send` job in one unit; an upload's media row (status `ready`, source
 * `upload`) and, with MEDIA_STORE=database, its blob join that unit, while a file is moved into
 * DATA_DIR/media/yyyy/mm/<media_id> just before it and removed again if the unit fails. WebM voice
 * notes are stored remuxed to Ogg/Opus. The idempotency key is the message's `client_key`, unique
 * per conversation: a repeat returns the stored message and stores nothing, also when two repeats
 * race (the loser of the unique index reads the winner back).
 */
export async function sendOperatorMessage(
  ctx: Pick<AppContext, 'committer' | 'store' | 'config'>,
  actor: AuthenticatedOperator,
  conversationId: string,
  input: OperatorMessageInput,
  now = new Date(),
): Promise<SentMessage> {
  const key = input.idempotencyKey;
  const replyTo = input.replyTo ?? null;
  const upload = input.upload ?? null;
  let prepared: PreparedBytes | null = null;
  let placedPath: string | null = null;

  if (upload) {
    // Media work (checks, remux, moving bytes) happens before the write unit, which stays short.
    if (key !== null) {
      const existing = await findMessageByClientKey(ctx.store.reader, conversationId, key);
      if (existing) return replay(existing, null, input.text);
    }
    await checkSendable(ctx.store.reader, actor, await requireConversation(ctx.store.reader, conversationId), replyTo, now);
    prepared = await prepareUpload(ctx, upload, input.text);
  }
  const mediaId = prepared ? `md_${randomBytes(10).toString('hex')}` : null;
  const createdAt = now.toISOString();
  if (prepared && mediaId && ctx.config.mediaStore !== 'database') {
    const storagePath = mediaFilePath(mediaId, createdAt);
    const finalPath = join(ctx.config.dataDir, storagePath);
    await placeFile(
      prepared.bytes ? { bytes: prepared.bytes, tempDir: join(ctx.config.dataDir, 'media', 'tmp') } : { path: upload!.file.path },
      finalPath,
    );
    placedPath = finalPath;
  }
  const type: MessageType = prepared ? MESSAGE_TYPE[prepared.kind] : 'text';

  try {
    const result = await ctx.committer.run(async (tx): Promise<SentMessage> => {
      if (key !== null) {
        const existing = await findMessageByClientKey(tx.db, conversationId, key);
        if (existing) return replay(existing, type, input.text);
      }
      const row = await checkSendable(tx.db, actor, await lockConversation(tx, conversationId), replyTo, now);
      const { channel } = await completeParts(tx.db, row);
      const provider = channel.provider as Provider;
      const media: Media | null =
        prepared && mediaId
          ? {
              media_id: mediaId,
              mime_type: prepared.mimeType,
              url: null,
              status: 'ready',
              caption: input.text,
              transcript: null,
              filename: prepared.filename,
              size: prepared.size,
            }
          : null;
      const message = await appendOutbound(
        tx,
        row.id,
        provider,
        {
          role: 'operator',
          type,
          text: input.text,
          media,
          operator: { id: actor.id, name: actor.name },
          reply_to: replyTo,
          metadata: {},
          client_key: key,
        },
        now,
      );
      if (prepared && mediaId) {
        await insertMedia(tx.db, {
          media_id: mediaId,
          message_pk: message.id,
          conversation_id: row.id,
          provider,
          source_ref: mediaId,
          source_kind: 'upload',
          sha256: prepared.sha256,
          mime_type: prepared.mimeType,
          size: prepared.size,
          status: 'ready',
          storage_path: placedPath ? mediaFilePath(mediaId, createdAt) : null,
          error: null,
          created_at: createdAt,
          updated_at: createdAt,
        });
        if (ctx.config.mediaStore === 'database') await putMediaBlob(tx.db, mediaId, prepared.bytes!);
      }
      return { message: presentMessage(message), created: true };
    });
    // A repeat that arrived while this upload was being prepared: its bytes are not needed.
    if (!result.created && placedPath) await rm(placedPath, { force: true });
    return result;
  } catch (err) {
    if (placedPath) await rm(placedPath, { force: true });
    // A concurrent repeat that lost the race on the (conversation, client_key) index.
    if (key !== null && !isDomainError(err)) {
      const existing = await findMessageByClientKey(ctx.store.reader, conversationId, key);
      if (existing) return replay(existing, type, input.text);
    }
    throw err;
  }
}
