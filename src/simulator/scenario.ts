import type { Provider } from '../chat/types.js';

/** A simulated WhatsApp customer: who they are and through which provider they write. */
export interface SimulatedCustomer {
  key: string;
  provider: Provider;
  /** Phone digits (Meta/MontyMobile `from`, Qiscus `from.email`). */
  waId: string;
  name: string;
}

/** One thing a customer does. `at` is the time from the scenario's start, in ms at pace 1. */
export type ScenarioStep =
  | { at: number; customer: string; kind: 'text'; text: string; quote?: 'own_first' }
  | { at: number; customer: string; kind: 'voice' }
  | { at: number; customer: string; kind: 'photo'; caption: string }
  /** A reaction to the latest message the business sent this customer. */
  | { at: number; customer: string; kind: 'reaction'; emoji: string };

/** What the voice note (samples/voice-note.ogg) says: the simulated transcript. */
export const VOICE_NOTE_WORDS = 'Hi, I would like to book a laser hair removal session for next week. Do you have anything on Tuesday?';

export const CUSTOMERS: SimulatedCustomer[] = [
  { key: 'rana', provider: 'meta', waId: '96170123401', name: 'Rana Haddad' },
  { key: 'emily', provider: 'meta', waId: '447700900402', name: 'Emily Clarke' },
  { key: 'julien', provider: 'meta', waId: '33612345403', name: 'Julien Moreau' },
  { key: 'karim', provider: 'meta', waId: '96171123404', name: 'Karim Nassar' },
  { key: 'maya', provider: 'meta', waId: '96176123405', name: 'Maya Khoury' },
  { key: 'hadi', provider: 'montymobile', waId: '96103123406', name: 'Hadi Saleh' },
  { key: 'sari', provider: 'qiscus', waId: '628121234407', name: 'Sari Wijaya' },
  /** The customer typed for by hand (`--interactive`); not in the script. */
  { key: 'you', provider: 'meta', waId: '96170000100', name: 'You (simulator)' },
];

/**
 * The demo's customers at a realistic pace (seconds apart, a few minutes in all): texts in English,
 * Arabic and French, Arabic in Latin letters, a voice note, a photo, a request for a human, an
 * angry customer, a reply quoting an earlier message, a reaction.
 */
export const SCENARIO: ScenarioStep[] = [
  { at: 1_000, customer: 'emily', kind: 'text', text: 'Hi! What are your opening hours on Saturday?' },
  { at: 3_500, customer: 'rana', kind: 'text', text: 'مرحبا، قديش سعر جلسة الليزر للرجلين؟' },
  { at: 6_000, customer: 'julien', kind: 'text', text: 'Bonjour, je voudrais prendre rendez-vous pour un soin du visage.' },
  { at: 9_000, customer: 'hadi', kind: 'text', text: 'marhaba, shu el as3ar la laser?' },
  { at: 11_000, customer: 'sari', kind: 'text', text: 'Hello, do you sell gift cards?' },
  { at: 13_000, customer: 'maya', kind: 'voice' },
  { at: 16_000, customer: 'emily', kind: 'photo', caption: 'Is this redness normal two days after my laser session?' },
  {
    at: 19_000,
    customer: 'karim',
    kind: 'text',
    text: 'This is the THIRD time you cancel my appointment!!! Worst clinic ever, I want a refund NOW 😡',
  },
  { at: 22_000, customer: 'rana', kind: 'text', text: 'وفي مواقف للسيارات عندكم؟' },
  { at: 25_000, customer: 'julien', kind: 'text', text: "Je préfère parler à quelqu'un, s'il vous plaît." },
  { at: 28_000, customer: 'emily', kind: 'reaction', emoji: '👍' },
  { at: 31_000, customer: 'maya', kind: 'text', text: 'Sorry, about my voice note: Tuesday afternoon would be best.', quote: 'own_first' },
  { at: 34_000, customer: 'hadi', kind: 'text', text: 'w ade bya3mel wja3?' },
  { at: 38_000, customer: 'sari', kind: 'text', text: 'Can I pay by card?' },
];
