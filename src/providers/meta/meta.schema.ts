import { z } from 'zod';
import { latitudeSchema, longitudeSchema, optionalFlag, optionalId, optionalText } from '../wire-values.js';

/*
 * Meta's webhook wire schemas (REFERENCE §1.5–1.8), also what MontyMobile and Qiscus relay. Only the envelope is strict; below it every field is read
 * leniently, so one odd field degrades one item (to `unsupported` or `ignored`), never the batch.
 */

export const metaErrorSchema = z.looseObject({
  code: z.union([z.number(), z.string()]).optional().catch(undefined),
  title: optionalText,
  message: optionalText,
  error_data: z.looseObject({ details: optionalText }).optional().catch(undefined),
});

export const metaMetadataSchema = z.looseObject({
  phone_number_id: optionalId,
  display_phone_number: optionalId,
});

export const metaContactSchema = z.looseObject({
  wa_id: optionalId,
  user_id: optionalText,
  profile: z.looseObject({ name: optionalText, username: optionalText }).optional().catch(undefined),
});

export const metaContextSchema = z.looseObject({
  from: optionalId,
  id: optionalText,
  forwarded: optionalFlag,
  frequently_forwarded: optionalFlag,
  referred_product: z.record(z.string(), z.unknown()).optional().catch(undefined),
});

/** The fields every message shares; the object named by `type` is read separately. */
export const metaMessageSchema = z.looseObject({
  id: optionalText,
  from: optionalId,
  from_user_id: optionalText,
  timestamp: z.unknown().optional(),
  type: optionalText,
  context: metaContextSchema.optional().catch(undefined),
  referral: z.record(z.string(), z.unknown()).optional().catch(undefined),
  errors: z.array(z.unknown()).optional().catch(undefined),
});

export const metaTextSchema = z.looseObject({ body: z.string() });

/** image, audio, video, document and sticker objects. `link` only ever comes from MontyMobile. */
export const metaMediaSchema = z.looseObject({
  id: optionalId,
  link: optionalText,
  url: optionalText,
  mime_type: optionalText,
  sha256: optionalText,
  caption: optionalText,
  filename: optionalText,
  voice: optionalFlag,
  animated: optionalFlag,
});

export const metaLocationSchema = z.looseObject({
  latitude: latitudeSchema,
  longitude: longitudeSchema,
  name: optionalText,
  address: optionalText,
  url: optionalText,
});

export const metaContactCardSchema = z.looseObject({
  name: z.looseObject({ formatted_name: optionalText, first_name: optionalText, last_name: optionalText }).optional().catch(undefined),
});

const metaReplySchema = z.looseObject({ id: z.string(), title: z.string(), description: optionalText });

export const metaInteractiveSchema = z.looseObject({
  type: z.string(),
  button_reply: metaReplySchema.optional().catch(undefined),
  list_reply: metaReplySchema.optional().catch(undefined),
});

export const metaButtonSchema = z.looseObject({ payload: optionalText, text: optionalText });

/** `emoji` is omitted when the user removes a reaction. */
export const metaReactionSchema = z.looseObject({ message_id: z.string().min(1), emoji: optionalText });

export const metaUnsupportedSchema = z.looseObject({ type: optionalText });

/** `edit` (REFERENCE §1.6, Meta's edit webhook): the new content is itself a message object. */
export const metaEditSchema = z.looseObject({
  original_message_id: z.string().trim().min(1),
  message: z.record(z.string(), z.unknown()),
});

export const metaRevokeSchema = z.looseObject({ original_message_id: z.string().trim().min(1) });

/** `system`: `user_changed_number` (`wa_id` new, `customer` old), `customer_identity_changed` (`identity`) … */
export const metaSystemSchema = z.looseObject({
  type: optionalText,
  body: optionalText,
  wa_id: optionalId,
  new_wa_id: optionalId,
  customer: optionalId,
  identity: optionalText,
});

export const metaStatusSchema = z.looseObject({
  id: z.string().trim().min(1),
  status: z.string(),
  timestamp: z.unknown().optional(),
  recipient_id: optionalId,
  recipient_user_id: optionalText,
  biz_opaque_callback_data: optionalText,
  errors: z.array(z.unknown()).optional().catch(undefined),
});

export const metaValueSchema = z.looseObject({
  metadata: metaMetadataSchema.optional().catch(undefined),
  contacts: z.array(z.unknown()).optional().catch(undefined),
  messages: z.array(z.unknown()).optional().catch(undefined),
  statuses: z.array(z.unknown()).optional().catch(undefined),
  errors: z.array(z.unknown()).optional().catch(undefined),
});

export const metaChangeSchema = z.looseObject({ field: z.unknown(), value: z.unknown() });

export const metaEntrySchema = z.looseObject({ id: optionalId, changes: z.array(z.unknown()) });

export const metaEnvelopeSchema = z.looseObject({ object: z.string().optional(), entry: z.array(z.unknown()) });
