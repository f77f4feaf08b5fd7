import { normalizeText } from './language.js';

/**
 * Rules that hand a conversation from the AI to an operator [AI4]: an explicit request for a human,
 * and angry sentiment over the customer's recent messages. Both read text normalised by
 * `normalizeText` (lower case, Arabic letter forms unified, accents and repeated letters folded),
 * and every phrase below is normalised the same way when the module loads, so a phrase is written
 * naturally ("baddi", "quelqu'un", "أريد") and still matches its variants ("badi", "quelqu’un", "اريد").
 * Phrases match whole words only: "agent" does not match "agents" or "management".
 */

// ---------------------------------------------------------------------------------------------
// Phrase patterns. A pattern is a sequence of slots; a slot is a list of alternatives, each one or
// more words. An alternative ending in `*` matches any word starting with it ("fuck*" → "fucking").
// A slot containing '' is optional. Matching runs on ` ${normalised} `, so every alternative is
// followed by exactly one space and a pattern can never start or end inside a word.

type Slot = readonly string[];

function alternative(phrase: string): string {
  const isPrefix = phrase.endsWith('*');
  const words = normalizeText(isPrefix ? phrase.slice(0, -1) : phrase);
  if (words === '') throw new Error(`handover-rules: the phrase "${phrase}" has no letters`);
  const escaped = words.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return isPrefix ? `${escaped}[\\p{L}\\p{N}]*` : escaped;
}

function slotSource(slot: Slot): string {
  const alternatives = [...new Set(slot.filter((phrase) => phrase !== '').map(alternative))].sort((a, b) => b.length - a.length);
  const group = `(?:${alternatives.join('|')}) `;
  return slot.includes('') ? `(?:${group})?` : group;
}

/** A pattern found anywhere in the message. */
function phrase(...slots: Slot[]): RegExp {
  return new RegExp(` ${slots.map(slotSource).join('')}`, 'u');
}

/** A pattern that is the whole message, give or take greetings and polite words ("agent please"). */
function wholeMessage(...slots: Slot[]): RegExp {
  const polite = `(?:${slotSource(POLITE)})*`;
  return new RegExp(`^ ${polite}${slots.map(slotSource).join('')}${polite}$`, 'u');
}

/** Every Arabic noun with the clitics it takes in these requests: ال, ل, لل, ب, بال, و, وال. */
function arabicNoun(words: readonly string[]): string[] {
  return words.flatMap((word) => ['', 'ال', 'ل', 'لل', 'ب', 'بال', 'و', 'وال'].map((prefix) => prefix + word));
}

const POLITE: Slot = [
  'please',
  'pls',
  'plz',
  'now',
  'asap',
  'thanks',
  'thank you',
  'hi',
  'hello',
  'hey',
  'ok',
  'okay',
  'svp',
  's il vous plait',
  's il te plait',
  'stp',
  'merci',
  'bonjour',
  'bonsoir',
  'salut',
  'maintenant',
  'لو سمحت',
  'لو سمحتي',
  'من فضلك',
  'من فضلكم',
  'اذا سمحت',
  'اذا بتريد',
  'بليز',
  'هلق',
  'الان',
  'مرحبا',
  'السلام عليكم',
  'اهلا',
  'law sama7t',
  'law sam7t',
  'lw sm7t',
  'iza bitrid',
  'iza btrid',
  'men fadlak',
  'min fadlak',
  'marhaba',
  'mar7aba',
  'hala2',
  'halla2',
  'hala',
];

// English ---------------------------------------------------------------------------------------

const EN_SPEAK: Slot = ['talk', 'speak', 'chat', 'speek'];
const EN_WITH: Slot = ['to', 'with'];
const EN_DETERMINER: Slot = ['', 'a', 'an', 'the', 'some', 'your', 'one of your', 'someone from your', 'somebody from your'];
const EN_ADJECTIVE: Slot = ['', 'real', 'actual', 'live', 'human', 'proper'];
const EN_STRONG_TARGET: Slot = [
  'human',
  'humans',
  'human being',
  'person',
  'agent',
  'operator',
  'representative',
  'rep',
  'staff member',
  'member of staff',
  'member of your staff',
  'team member',
  'employee',
  'manager',
  'supervisor',
  'customer service',
  'customer support',
  'receptionist',
  'advisor',
  'adviser',
  'support team',
  'support agent',
];
const EN_TARGET: Slot = [
  ...EN_STRONG_TARGET,
  'someone',
  'somebody',
  'anyone',
  'anybody',
  'someone real',
  'support',
  'staff',
  'team',
  'people',
  'consultant',
];
const EN_WANT: Slot = [
  'i want',
  'i need',
  'i would like',
  'i d like',
  'i wanna',
  'i demand',
  'i prefer',
  'we want',
  'we need',
  'i just want',
  'i just need',
  'can i have',
  'can i get',
  'could i have',
  'could i get',
  'give me',
  'get me',
];
const EN_BOT: Slot = ['bot', 'robot', 'chatbot', 'machine', 'ai', 'computer', 'automated'];

// French ----------------------------------------------------------------------------------------

const FR_SPEAK: Slot = ['parler', 'discuter', 'echanger', 'communiquer', 'm adresser', 'etre en contact'];
const FR_WITH: Slot = ['a', 'avec', 'aupres d'];
const FR_STRONG_TARGET: Slot = [
  'un humain',
  'un etre humain',
  'une vraie personne',
  'une personne reelle',
  'un vrai humain',
  'un conseiller',
  'une conseillere',
  'un vrai conseiller',
  'un agent',
  'un operateur',
  'une operatrice',
  'un responsable',
  'une responsable',
  'le responsable',
  'la responsable',
  'un employe',
  'une employee',
  'un membre de l equipe',
  'un membre de votre equipe',
  'votre equipe',
  'l equipe',
  'le service client',
  'votre service client',
  'un gerant',
  'le gerant',
  'la direction',
  'le directeur',
  'la directrice',
];
const FR_TARGET: Slot = [
  ...FR_STRONG_TARGET,
  'une personne',
  'quelqu un',
  'quelqu un de l equipe',
  'quelqu un de chez vous',
  'au service client',
  'au responsable',
  'au gerant',
];
const FR_WANT: Slot = [
  'je veux',
  'je voudrais',
  'j aimerais',
  'je souhaite',
  'je souhaiterais',
  'je demande',
  'puis je avoir',
  'je peux avoir',
  'est ce que je peux avoir',
  'pouvez vous me passer',
  'vous pouvez me passer',
  'passez moi',
  'transferez moi a',
  'transferez moi vers',
  'me mettre en relation avec',
  'mettez moi en relation avec',
  'mettez moi en contact avec',
  'en relation avec',
  'en contact avec',
];

// Arabic (script) -------------------------------------------------------------------------------

const AR_WANT: Slot = [
  'بدي',
  'بدنا',
  'ابدي',
  'ابغي',
  'ابغا',
  'ابا',
  'ابي',
  'ودي',
  'عايز',
  'عاوز',
  'عايزه',
  'عاوزه',
  'اريد',
  'نريد',
  'اود',
  'ارغب',
  'ارغب في',
  'حابب',
  'حابه',
  'ممكن',
  'فيني',
  'فيي',
  'بقدر',
  'اقدر',
  'هل يمكنني',
  'يمكنني',
  'هل استطيع',
  'استطيع',
  'لو سمحت',
  'خليني',
  'خلوني',
  'اعطوني',
  'عطوني',
];
const AR_SPEAK: Slot = [
  'احكي',
  'نحكي',
  'احاكي',
  'احكي مع',
  'اتكلم',
  'نتكلم',
  'التكلم',
  'اكلم',
  'نكلم',
  'اتحدث',
  'نتحدث',
  'التحدث',
  'الحديث',
  'اتواصل',
  'نتواصل',
  'التواصل',
  'احچي',
];
const AR_WITH: Slot = ['', 'مع', 'الى', 'ويا', 'وياه'];
const AR_STRONG_NOUNS = [
  'موظف',
  'موظفه',
  'موظفين',
  'انسان',
  'بشر',
  'بني ادم',
  'مسؤول',
  'مسؤوله',
  'مدير',
  'مديره',
  'اداره',
  'خدمه العملاء',
  'خدمه الزبائن',
  'دعم العملاء',
  'ممثل',
  'ممثل خدمه العملاء',
  'مندوب',
  'شخص حقيقي',
  'حدا حقيقي',
  'انسان حقيقي',
  'موظف حقيقي',
];
const AR_NOUNS = [...AR_STRONG_NOUNS, 'حدا', 'حد', 'احد', 'شخص', 'حدا من عندكم', 'حد من عندكم', 'احد من الفريق', 'فريق', 'دعم', 'دعم فني'];
const AR_STRONG_TARGET: Slot = arabicNoun(AR_STRONG_NOUNS);
const AR_TARGET: Slot = arabicNoun(AR_NOUNS);
const AR_SOMEONE: Slot = arabicNoun(['حدا', 'حد', 'احد', 'شخص', 'موظف', 'موظفه', 'انسان']);
const AR_SOMEONE_SPEAKS: Slot = [
  'يحكي معي',
  'يحكيني',
  'يحاكيني',
  'يحكي معي',
  'يكلمني',
  'يتكلم معي',
  'يتواصل معي',
  'يتصل فيني',
  'يتصل بي',
  'يحكي معنا',
  'يرد علي',
  'يتحدث معي',
  'يساعدني شخصيا',
];
const AR_TRANSFER: Slot = [
  'تحولني',
  'تحوليني',
  'توصلني',
  'توصليني',
  'حولني',
  'حوليني',
  'حولوني',
  'وصلني',
  'وصلوني',
  'وصليني',
  'اعطيني',
  'عطيني',
  'اديني',
  'ابعتلي',
  'ابعثلي',
  'جيبلي',
  'جبلي',
];
// Not آلة / آلي: normalised they read اله / الي, which are also "god" and "who" (لا إله إلا الله).
const AR_BOT: Slot = arabicNoun(['روبوت', 'بوت', 'ماكينه', 'ذكاء اصطناعي', 'كمبيوتر', 'رد تلقائي', 'رد الي', 'برنامج']);

// Arabizi (Arabic in Latin letters) -------------------------------------------------------------

const AZ_WANT: Slot = [
  'bade',
  'badde',
  'baddi',
  'badi',
  'bdi',
  'biddi',
  'bede',
  'beddi',
  'bidi',
  'badna',
  'bdna',
  'ana bade',
  'ana baddi',
  'abga',
  'abgha',
  'abi',
  'abbi',
  '3ayez',
  '3ayz',
  '3awez',
  '3awz',
  '3ayza',
  '3awza',
  'arid',
  'areed',
  'mumkin',
  'momken',
  'mumken',
  'mmkn',
  'mnkn',
  'mmken',
  'fini',
  'fiye',
  'fiyi',
  'feene',
  'feeni',
  'a2dar',
  'khalini',
  'khallini',
  '5alini',
];
const AZ_SPEAK: Slot = [
  'e7ke',
  'e7ki',
  'i7ki',
  'a7ki',
  'a7ke',
  'ehke',
  'ehki',
  'ihki',
  'ahki',
  'ahke',
  'n7ke',
  'ne7ke',
  'ni7ki',
  'n7ki',
  '7ake',
  '7aki',
  'e7chi',
  'ehchi',
  'etkalam',
  'itkalam',
  'atkalam',
  'etkallam',
  'atkallam',
  'akalem',
  'akallem',
  'kalem',
  'kallem',
  'akalim',
  'nkalem',
  'at7adath',
  'at7adas',
  'et7adas',
  'atwasal',
  'etwasal',
];
const AZ_WITH: Slot = ['', 'ma3', 'ma3a', 'm3', 'maa', 'ma', 'wiya', 'weya', 'la'];
const AZ_STRONG_TARGET: Slot = [
  'mwazaf',
  'mwazzaf',
  'mowazaf',
  'mowazzaf',
  'muwazzaf',
  'muwazaf',
  'mwazafe',
  'mwazzafe',
  'mowazafa',
  'ensan',
  'insan',
  'bani adam',
  'bani2adam',
  'mas2oul',
  'mas2ul',
  'masoul',
  'mudir',
  'modir',
  'agent',
  'human',
  'operator',
  'employee',
  '7ada 7a2i2e',
  '7ada 7a2i2i',
  'shakhs 7a2i2e',
  'ensan 7a2i2e',
  'khedmet el zaba2en',
  'khedmet el 3omala',
  '5edmet el zaba2en',
];
const AZ_SOMEONE: Slot = ['7ada', '7ad', 'a7ad', 'ahad', '7adan', 'shi 7ada', 'shi hada', 'shakhs', 'sha5s', 'shakhes'];
const AZ_TARGET: Slot = [...AZ_STRONG_TARGET, ...AZ_SOMEONE, 'hada', 'person', 'someone'];
const AZ_WITH_HIM: Slot = ['ma3o', 'ma3ou', 'ma3u', 'm3o', 'ma3ah', 'ma3a', 'ma3', 'ma3oh', 'ma3ahu'];
const AZ_SOMEONE_SPEAKS: Slot = [
  'y7ke',
  'yi7ki',
  'ye7ke',
  'yehke',
  'yehki',
  'y7kini',
  'y7kine',
  'ye7kini',
  'ye7kine',
  'yekalemne',
  'ykalemne',
  'ykalimni',
  'yetkalam',
  'yitkallam',
  'yetwasal',
  'yetasel',
  'yt2asal',
];
const AZ_TRANSFER: Slot = [
  '7awelne',
  '7awilni',
  '7awlne',
  '7awelni',
  'wasselne',
  'wassilni',
  'wasalne',
  '3tine',
  'a3tine',
  '3teene',
  '3tini',
  'jible',
  'jibli',
];
const AZ_BOT: Slot = ['robot', 'bot', 'ale', 'makina', 'ai', 'chatbot'];
const AZ_NOT: Slot = ['ma', 'mish', 'msh', 'mesh', 'mush', 'mu'];

interface RequestRule {
  readonly pattern: string;
  /** Global, for `matchAll`: a negated match does not hide a later one in the same clause. */
  readonly regex: RegExp;
  readonly isWholeMessage: boolean;
  /** false for rules that contain their own negation ("I don't want a bot"). */
  readonly isNegatable: boolean;
}

function rule(pattern: string, regex: RegExp, isNegatable = true): RequestRule {
  return { pattern, regex: new RegExp(regex.source, 'gu'), isWholeMessage: regex.source.startsWith('^'), isNegatable };
}

const REQUEST_RULES: readonly RequestRule[] = [
  rule('en.talk_to_human', phrase(EN_SPEAK, EN_WITH, EN_DETERMINER, EN_ADJECTIVE, EN_TARGET)),
  rule(
    'en.someone_to_talk_to',
    phrase(
      ['someone', 'somebody', 'anyone', 'anybody', 'a human', 'a person', 'a real person'],
      ['i can', 'i could', 'we can', 'to'],
      EN_SPEAK,
      EN_WITH,
    ),
  ),
  rule(
    'en.want_human',
    phrase(
      EN_WANT,
      ['', 'to talk to', 'to speak to', 'to speak with', 'to talk with', 'to chat with'],
      EN_DETERMINER,
      EN_ADJECTIVE,
      EN_STRONG_TARGET,
    ),
  ),
  rule(
    'en.transfer',
    phrase(
      ['connect', 'transfer', 'put', 'pass', 'forward', 'redirect', 'escalate', 'switch'],
      ['me', 'this', 'us'],
      ['to', 'with', 'through to', 'over to'],
      EN_DETERMINER,
      EN_ADJECTIVE,
      EN_TARGET,
    ),
  ),
  rule(
    'en.is_there_a_human',
    phrase(
      ['is there', 'are there', 'is there any'],
      ['', 'a', 'an', 'any'],
      ['human', 'humans', 'real person', 'live agent', 'human agent', 'live operator', 'person i can talk to'],
    ),
  ),
  rule(
    'en.call_me',
    phrase(
      [
        'someone',
        'somebody',
        'a person',
        'a human',
        'an agent',
        'your team',
        'someone from your team',
        'someone from the clinic',
        'one of your staff',
        'the manager',
        'a manager',
      ],
      ['', 'to', 'can', 'could', 'please'],
      ['call', 'phone', 'ring', 'contact'],
      ['me', 'us'],
    ),
  ),
  rule(
    'en.call_back',
    phrase(['call me back', 'give me a call', 'have a call with', 'a phone call with', 'talk on the phone', 'speak on the phone']),
  ),
  rule('en.real_person', phrase(['real', 'actual', 'live'], ['person', 'human', 'agent', 'operator'])),
  rule('en.human_agent', phrase(['human'], ['agent', 'operator', 'support', 'assistance', 'please'])),
  rule(
    'en.no_bot',
    phrase(
      ['don t', 'dont', 'do not'],
      ['want', 'wanna'],
      ['', 'to talk to', 'to speak to', 'to chat with', 'to talk with'],
      ['', 'a', 'the', 'this', 'your', 'an'],
      EN_BOT,
    ),
    false,
  ),
  rule('en.want_someone', wholeMessage(EN_WANT, ['someone', 'somebody', 'a person', 'a human', 'a real person'])),
  rule(
    'en.only',
    wholeMessage(
      ['', 'a', 'an', 'the'],
      [
        'human',
        'agent',
        'operator',
        'representative',
        'person',
        'real person',
        'live agent',
        'human agent',
        'staff',
        'manager',
        'customer service',
        'support',
        'human please',
      ],
    ),
  ),

  rule('fr.talk_to_human', phrase(FR_SPEAK, FR_WITH, FR_TARGET)),
  rule(
    'fr.talk_to_service',
    phrase(FR_SPEAK, ['au service client', 'au responsable', 'au gerant', 'a votre equipe', 'a l equipe', 'a la direction']),
  ),
  rule('fr.want_human', phrase(FR_WANT, FR_STRONG_TARGET)),
  rule(
    'fr.real_person',
    phrase(['vraie personne', 'vrai humain', 'personne reelle', 'etre humain', 'humain reel', 'conseiller humain', 'agent humain']),
  ),
  rule(
    'fr.no_bot',
    phrase(
      ['ne veux pas', 'veux pas', 'ne souhaite pas'],
      ['', 'parler a', 'parler avec', 'discuter avec'],
      ['un', 'une', 'le', 'la', 'votre', 'ce'],
      ['robot', 'bot', 'chatbot', 'machine', 'ia', 'ordinateur'],
    ),
    false,
  ),
  rule(
    'fr.only',
    wholeMessage(
      ['', 'un', 'une', 'le', 'la'],
      [
        'conseiller',
        'conseillere',
        'humain',
        'agent',
        'operateur',
        'operatrice',
        'responsable',
        'vraie personne',
        'service client',
        'etre humain',
      ],
    ),
  ),

  rule('ar.talk_to_human', phrase(AR_SPEAK, AR_WITH, AR_TARGET)),
  rule('ar.want_human', phrase(AR_WANT, AR_STRONG_TARGET)),
  rule(
    'ar.someone_to_talk_to',
    phrase(
      ['في', 'فيه', 'فيه حدا', 'يوجد', 'هل يوجد', 'هل في'],
      AR_SOMEONE,
      ['احكي', 'اتكلم', 'اتحدث', 'اكلم', 'اتواصل'],
      ['معه', 'معو', 'معاه', 'معها', 'معاها', 'مع'],
    ),
  ),
  rule('ar.someone_talks_to_me', phrase(AR_SOMEONE, AR_SOMEONE_SPEAKS)),
  rule('ar.transfer', phrase(AR_TRANSFER, ['', 'مع', 'على', 'الى', 'ل'], AR_TARGET)),
  rule(
    'ar.no_bot',
    phrase(
      ['ما', 'مش', 'مو', 'لا', 'ماني'],
      ['بدي', 'اريد', 'عايز', 'عاوز', 'ابغي', 'ابي', 'حابب', 'ارغب في'],
      ['', 'احكي', 'اتكلم', 'اتحدث', 'اكلم', 'التحدث'],
      ['', 'مع'],
      AR_BOT,
    ),
    false,
  ),
  rule('ar.want_someone', wholeMessage(AR_WANT, AR_SOMEONE)),
  rule('ar.only', wholeMessage(AR_STRONG_TARGET)),

  rule('arabizi.talk_to_human', phrase(AZ_SPEAK, AZ_WITH, ['', 'shi'], AZ_TARGET)),
  rule('arabizi.want_human', phrase(AZ_WANT, AZ_STRONG_TARGET)),
  rule('arabizi.someone_to_talk_to', phrase(['fi', 'fih', 'fee', 'fiye', 'fe'], ['', 'shi'], AZ_SOMEONE, AZ_SPEAK, AZ_WITH_HIM)),
  rule('arabizi.someone_talks_to_me', phrase(AZ_SOMEONE, AZ_SOMEONE_SPEAKS)),
  rule('arabizi.transfer', phrase(AZ_TRANSFER, ['', 'ma3', '3a', '3ala', 'la'], AZ_TARGET)),
  rule(
    'arabizi.no_bot',
    phrase(
      AZ_NOT,
      ['bade', 'badi', 'bdi', 'biddi', '3ayez', '3awez', 'abga', 'abi'],
      ['', ...AZ_SPEAK.filter((word) => word !== '')],
      ['', 'ma3', 'ma3a', 'm3', 'ma'],
      ['', 'el', 'l'],
      AZ_BOT,
    ),
    false,
  ),
  rule('arabizi.want_someone', wholeMessage(AZ_WANT, AZ_SOMEONE)),
  rule('arabizi.only', wholeMessage(AZ_STRONG_TARGET)),
];

/**
 * Words that, just before a request, turn it around: "I don't want to talk to a human", "je ne veux
 * pas parler à quelqu'un", "ما بدي احكي مع حدا". Looked for in the four words before the match.
 */
const NEGATION = new RegExp(
  ` (?:${[
    'don t',
    'dont',
    'do not',
    'didn t',
    'not',
    'never',
    'no need',
    'without',
    'ne',
    'pas',
    'jamais',
    'sans',
    'ما',
    'مش',
    'مو',
    'ماني',
    'مب',
    'بدون',
    'مافي داعي',
    'لا اريد',
    'لا ارغب',
    'لا احتاج',
    'لا داعي',
    'لا حاجه',
    'mish',
    'msh',
    'mesh',
    'mush',
    'mabade',
    'mabadi',
    'mabdi',
    'ma',
  ]
    .map(alternative)
    .join('|')}) `,
  'u',
);

function isNegated(padded: string, matchIndex: number): boolean {
  const before = padded.slice(0, matchIndex).trim().split(' ').slice(-4).join(' ');
  return NEGATION.test(` ${before} `);
}

/**
 * An explicit request for a human in the customer's message [AI4] — English, Arabic (Levantine,
 * Gulf, Egyptian, MSA), French or Arabizi — or null. `pattern` names the rule that matched
 * (`en.talk_to_human`, `ar.want_human`, `arabizi.someone_to_talk_to` …) and `matched` the
 * normalised words it matched. A single noun is a request only when it is the whole message
 * ("agent", "operator please", "un conseiller svp"): "do you have an operator room" is not one.
 */
export function detectHumanRequest(text: string): { pattern: string; matched: string } | null {
  // Clause by clause, so that a negation in one ("no thanks, I want a human") does not reach the next.
  const clauses = [text, ...text.split(CLAUSE_BREAK)].map((clause) => ` ${normalizeText(clause)} `);
  for (const { pattern, regex, isWholeMessage, isNegatable } of REQUEST_RULES) {
    for (const [index, padded] of clauses.entries()) {
      // Whole-message rules look at the whole text only; the others at each clause.
      if ((index === 0) !== isWholeMessage) continue;
      for (const match of padded.matchAll(regex)) {
        if (isNegatable && isNegated(padded, match.index)) continue;
        return { pattern, matched: match[0].trim() };
      }
    }
  }
  return null;
}

const CLAUSE_BREAK = /[,.;:!?،؛؟\n]+|\s[-–—]\s/u;

// ---------------------------------------------------------------------------------------------
// Sentiment.

/** The score at and above which the customer's recent messages count as angry [AI4]. */
export const ANGER_THRESHOLD = 3;

/** The most that shouting (capitals, "!!!") adds over all messages: typography alone is never anger. */
export const TYPOGRAPHY_MAX_SCORE = 2;

type SentimentCategory = 'insult' | 'threat' | 'refund_demand' | 'dissatisfaction';

interface SentimentRule {
  readonly signal: string;
  readonly category: SentimentCategory;
  /** By weight: a message scores the highest weight whose phrases it contains, once per rule. */
  readonly levels: ReadonlyArray<{ weight: number; regex: RegExp }>;
}

function sentiment(category: SentimentCategory, signal: string, levels: Record<number, string[]>): SentimentRule {
  return {
    signal,
    category,
    levels: Object.entries(levels)
      .map(([weight, phrases]) => ({ weight: Number(weight), regex: phrase(phrases) }))
      .sort((a, b) => b.weight - a.weight),
  };
}

/**
 * Weights: 3 is anger on its own (an insult, a threat, "unacceptable"); 2 is strong but needs
 * company ("ridiculous", "nobody answers"); 1 only adds ("disappointed", "refund"). Broad words of
 * ordinary support talk — problem, help, issue, wrong, complaint, bad, مشكلة, problème — score 0.
 */
const SENTIMENT_RULES: readonly SentimentRule[] = [
  sentiment('insult', 'profanity', {
    3: [
      'fuck*',
      'f ck',
      'motherfuck*',
      'shit',
      'shitty',
      'bullshit',
      'bitch*',
      'bastard*',
      'asshole*',
      'screw you',
      'go to hell',
      'stfu',
      'piss off',
      'putain',
      'merde',
      'merdique',
      'connard*',
      'connasse*',
      'encule*',
      'salaud*',
      'salope*',
      'fous de ma gueule',
      'foutez de ma gueule',
      'foutage de gueule',
      'nique*',
      'يلعن*',
      'كس',
      'كسم*',
      'كس اختك',
      'كس امك',
      'خرا',
      'خري',
      'شرموط*',
      'منيك',
      'منايك',
      'عرص*',
      'طز فيكم',
      'طز فيك',
      'kos ekhtak',
      'kos emak',
      'kos okhtak',
      'kos omak',
      'kess ekhtak',
      'kes emak',
      'kosomak',
      'kosomk',
      'ksomak',
      'yel3an*',
      'yil3an*',
      'yl3n*',
      'yla3n*',
      'ekhra',
      '5ara',
      'khara',
      'sharmout*',
      'charmout*',
      'manyak*',
      'mnayek',
    ],
    2: ['wtf', 'crap', 'damn it', 'shut up', 'bordel', 'لعنه', 'اللعنه', 'زفت', 'طز', 'zeft', 'tozz'],
    1: ['damn'],
  }),
  sentiment('insult', 'insult', {
    3: [
      'idiots',
      'you idiot',
      'you idiots',
      'stupid clinic',
      'you stupid',
      'you are stupid',
      'you re stupid',
      'moron*',
      'incompetent*',
      'liars',
      'you lied',
      'thieves',
      'crooks',
      'scammers',
      'you re useless',
      'you are useless',
      'abruti*',
      'imbecile*',
      'cretin*',
      'escroc*',
      'voleurs',
      'menteurs',
      'bande de nuls',
      'vous etes nuls',
      'حمار',
      'حمير',
      'يا حمار',
      'يا حيوان',
      'حيوانات',
      'يا كلب',
      'كلاب',
      'حقير',
      'حقيرين',
      'زباله',
      'حرامي',
      'حراميه',
      'نصاب',
      'نصابين',
      'نصابه',
      'كذاب',
      'كذابين',
      'قليل ادب',
      'قليلين ادب',
      'بلا ادب',
      'اغبياء',
      'اغبيا',
      '7mar',
      '7mir',
      'hmar',
      'ya 7aywan',
      'klab',
      'ya kalb',
      '7arame',
      '7arami',
      '7aramiye',
      '7aramiyi',
      'harami',
      'nasabin',
      'nassabin',
      'nasab',
      'nassab',
      'kazzab*',
      'kaddab*',
      'kazab*',
      '2alil adab',
      'alil adab',
      'bala adab',
      'zbele',
      'zbeleh',
    ],
    2: [
      'idiot',
      'stupid',
      'useless',
      'pathetic',
      'disgusting',
      'rude',
      'unprofessional',
      'clowns',
      'idiot*',
      'debile*',
      'nul',
      'nuls',
      'c est nul',
      'lamentable',
      'pitoyable',
      'degoutant',
      'impoli*',
      'irrespectueu*',
      'حيوان',
      'كلب',
      'تافه',
      'تافهين',
      'غبي',
      'وسخ',
      'وسخين',
      'وقح',
      'وقحين',
      'معفن',
      'معفنين',
      '7aywan',
      'kalb',
      'tafih',
      'tefeh',
      'ghabe',
      'ghabi',
      '8abe',
      '8abi',
      'aghbiya',
      'waka7',
      'wa2i7',
      'm3afan',
      'mi3afnin',
    ],
  }),
  sentiment('threat', 'legal', {
    3: [
      'i ll sue',
      'i will sue',
      'going to sue',
      'gonna sue',
      'sue you',
      'sue your',
      'sue the clinic',
      'lawsuit',
      'my lawyer',
      'my lawyers',
      'get a lawyer',
      'my attorney',
      'legal action',
      'take you to court',
      'consumer protection',
      'porter plainte',
      'mon avocat',
      'mes avocats',
      'prendre un avocat',
      'voir un avocat',
      'contacter un avocat',
      'au tribunal',
      'association de consommateurs',
      'repression des fraudes',
      'رح وكل محامي',
      'بوكل محامي',
      'ساوكل محامي',
      'رح جيب محامي',
      'محامي تبعي',
      'عن طريق المحامي',
      'توكيل محامي',
      'ارفع دعوى',
      'ارفع قضيه',
      'رح ارفع',
      'دعوى قضائيه',
      'حمايه المستهلك',
      'ra7 erfa3 da3wa',
      'ra7 jib mu7ame',
      'bjib mu7ame',
      'mu7ame tab3e',
      'bwakel mu7ame',
      'ra7 wakel mu7ame',
    ],
    // "lawyer" alone may be the customer's job; "avocat" is also an avocado (a face mask).
    2: [
      'lawyer',
      'attorney',
      'tribunal',
      'محامي',
      'المحامي',
      'mu7ame',
      'mo7ame',
      'm7ame',
      'mohame',
      'mou7ami',
      'mu7ami',
      'ministry of health',
      'وزاره الصحه',
      'wizaret el sa77a',
      'ministere de la sante',
    ],
  }),
  sentiment('threat', 'report', {
    3: [
      'report you',
      'report this clinic',
      'report your clinic',
      'report this place',
      'report your staff',
      'reporting you',
      'expose you',
      'vous signaler',
      'je vais vous signaler',
      'je vais vous denoncer',
      'اشتكي عليكم',
      'بشتكي عليكم',
      'ساشتكي عليكم',
      'شكوى ضدكم',
      'رح افضحكم',
      'بفضحكم',
      'سافضحكم',
      'راح افضحكم',
      'eshtke 3aleykon',
      'eshteki 3aleykon',
      'ishtiki 3aleykon',
      'eshtke 3alekon',
      'eshteki 3alekon',
      'bshteki 3aleykon',
      'bshtke 3alekon',
      'ra7 efda7kon',
      'ra7 ifda7kon',
      'bfda7kon',
    ],
    // A complaint alone is ordinary support talk; "I will complain" is a threat that needs company.
    2: [
      'bad review',
      'negative review',
      'one star',
      '1 star',
      'mauvais avis',
      'avis negatif',
      'une etoile',
      'تقييم سيء',
      'تقييم سلبي',
      'فضيحه',
      'fadi7a',
      'رح اشتكي',
      'راح اشتكي',
      'ساشتكي',
      'سوف اشتكي',
      'ra7 eshtke',
      'ra7 eshteki',
      'ra7 ishtiki',
      'ra7 ishtki',
      'rah eshteki',
      'ra7 2eshteki',
    ],
  }),
  sentiment('threat', 'worst', {
    3: [
      'worst clinic',
      'worst service',
      'worst experience',
      'worst place',
      'worst customer service',
      'worst treatment',
      'worst company',
      'worst staff',
      'worst ever',
      'pire clinique',
      'pire service',
      'pire experience',
      'pire centre',
      'اسوا عياده',
      'اسوا خدمه',
      'اسوا تعامل',
      'اسوا تجربه',
      'اسوا مركز',
      'اسوا مكان',
      'aswa2 3iyade',
      'aswa2 khedme',
      'aswa2 5edme',
      'aswa 3iyade',
      'aswa2 markaz',
      'aswa2 ta3amol',
    ],
    2: [
      'never again',
      'never coming back',
      'never come back',
      'plus jamais',
      'la pire',
      'ما رح ارجع',
      'مش راجع',
      'لن اعود',
      'ma ra7 erja3',
      'msh raje3',
    ],
  }),
  sentiment('refund_demand', 'money_back', {
    2: [
      'want my money back',
      'give me my money back',
      'give my money back',
      'refund me now',
      'i demand a refund',
      'refund now',
      'my money back now',
      'remboursez moi',
      'je veux etre rembourse*',
      'rendez moi mon argent',
      'بدي مصرياتي',
      'رجعولي مصرياتي',
      'رجعولي المصاري',
      'رجعولي مصاري',
      'بدي فلوسي',
      'رجعولي فلوسي',
      'ارجعوا فلوسي',
      'رجعوا فلوسي',
      'اريد استرداد اموالي',
      'rej3ouli masare',
      'rje3ouli masriyate',
      'bade masriyate',
      'bade masarye',
      'baddi masriyeti',
      'bade masare',
      'rag3ouli felousi',
      '3ayez felousi',
      '3ayez flousi',
    ],
    1: ['refund', 'rembourse*', 'استرداد', 'استرجاع المبلغ', 'masare'],
  }),
  sentiment('dissatisfaction', 'unacceptable', {
    3: [
      'unacceptable',
      'not acceptable',
      'outrageous',
      'disgrace',
      'disgraceful',
      'shameful',
      'shame on you',
      'how dare you',
      'inadmissible',
      'inacceptable',
      'scandaleux',
      'scandaleuse',
      'honteux',
      'honteuse',
      'مش مقبول',
      'غير مقبول',
      'مو مقبول',
      'مرفوض',
      'مهزله',
      'مسخره',
      'عيب عليكم',
      'mish ma2boul',
      'msh ma2bol',
      'mesh ma2boul',
      'mish maqboul',
      'ghayr ma2boul',
      'mu ma2boul',
      'mosh ma2bool',
      'msh maqbool',
      'mish ma2bul',
      'msh ma2boul',
      'mahzale',
      'mahzala',
      'maskhara',
      '3eib 3aleykon',
      '3eb 3alekon',
      '3ayb 3alaykom',
    ],
    2: ['scandale', 'honte', 'عيب', '3eib', '3ayb'],
  }),
  sentiment('dissatisfaction', 'ridiculous', {
    3: [
      'this is ridiculous',
      'so ridiculous',
      'totally ridiculous',
      'absolutely ridiculous',
      'this is a joke',
      'what a joke',
      'c est ridicule',
      'c est une blague',
    ],
    2: ['ridiculous', 'ridicule', 'a joke', 'joke of a', 'n importe quoi'],
  }),
  sentiment('dissatisfaction', 'scam', {
    3: [
      'this is a scam',
      'it s a scam',
      'total scam',
      'what a scam',
      'you scam',
      'scamming',
      'rip off',
      'ripoff',
      'c est une arnaque',
      'arnaqueurs',
      'vous m avez arnaque',
      'نصب واحتيال',
      'احتيال',
      'شو هالنصب',
      'nasb w e7tiyal',
    ],
    2: ['scam', 'arnaque*', 'نصب', 'nasb'],
  }),
  sentiment('dissatisfaction', 'fed_up', {
    3: [
      'sick and tired',
      'furious',
      'pissed off',
      'i hate you',
      'i hate this clinic',
      'ras le bol',
      'furieux',
      'furieuse',
      'je vous deteste',
      'طفح الكيل',
      'بكرهكم',
      'tafa7 el kayl',
      'tfa7 el kel',
      'bekrahkon',
    ],
    2: [
      'fed up',
      'sick of',
      'angry',
      'so angry',
      'very angry',
      'pissed',
      'j en ai marre',
      'marre',
      'en colere',
      'enerve*',
      'زهقت',
      'زهقتوني',
      'قرفتوني',
      'قرفت',
      'قرف',
      'تعبتوني',
      'هلكتوني',
      'مستفز',
      'معصب',
      'معصبه',
      'عصبتوني',
      'نرفزتوني',
      'متنرفز',
      'zhe2t',
      'zhe2na',
      'zehe2t',
      'zhi2t',
      '2rift',
      '2refet',
      'erfet',
      '2arraftoune',
      'ta3abtoune',
      'ta3abtouni',
      'm3assab',
      'm3asab',
      'm3asbe',
      '3asabtoune',
      '3assabtoune',
      'metnarfez',
      'tfa2a3t',
    ],
    1: ['annoyed', 'frustrated', 'frustrating', 'unbelievable', 'agace*', 'مش معقول', 'msh ma32oul'],
  }),
  sentiment('dissatisfaction', 'ignored', {
    2: [
      'nobody answers',
      'no one answers',
      'nobody is answering',
      'no one is answering',
      'nobody answering',
      'no one replies',
      'nobody replies',
      'nobody responds',
      'no one responds',
      'still no answer',
      'still no reply',
      'waiting for hours',
      'waste of time',
      'wasted my time',
      'waste of money',
      'wasted my money',
      'personne ne repond',
      'personne ne me repond',
      'toujours pas de reponse',
      'aucune reponse',
      'perte de temps',
      'ما حدا عم يرد',
      'ما حدا بيرد',
      'ما حدا رد',
      'محدش بيرد',
      'محدش رد',
      'ولا حد يرد',
      'ولا حدا رد',
      'ما حد يرد',
      'ma 7ada 3am yrud',
      'ma 7ada 3am yrd',
      'ma 7ada rad',
      'ma7ada rad',
      'ma 7ada 3am yjewib',
      'ma7ada 3am yrd',
      'ma7ada byrd',
      'ma 7ada byrud',
      'ma7adesh byrod',
      'm7dsh byrd',
    ],
    1: ['still waiting', 'toujours en attente', 'لسا ناطر', 'lessa nater'],
  }),
  sentiment('dissatisfaction', 'disappointed', {
    2: [
      'very disappointed',
      'so disappointed',
      'extremely disappointed',
      'terrible service',
      'horrible service',
      'awful service',
      'horrible experience',
      'terrible experience',
      'tres decu*',
      'vraiment decu*',
      'خيبه امل',
      'سيء جدا',
      'سيئه جدا',
      'كتير سيء',
      'خدمه سيئه',
      'تعامل سيء',
      'khedme sayi2a',
    ],
    1: ['disappointed', 'not happy', 'terrible', 'horrible', 'awful', 'decu*', 'مش مبسوط', 'زعلان', 'msh mabsout', 'mish mabsout'],
  }),
];

/**
 * Everyday phrases that contain a scored word but are not aimed at anyone: "الله يلعن الشيطان"
 * ("God curse the devil", said about one's own slip), "not angry". They are removed before scoring.
 */
const NOT_ANGER = new RegExp(
  ` (?:${['الله يلعن الشيطان', 'يلعن الشيطان', 'لعنه الله علي الشيطان', 'yel3an el shetan', 'yel3an el shaytan', 'yil3an el shaytan', 'yl3n el shetan', 'not angry', 'not mad', 'pas en colere', 'مش معصب', 'مو معصب', 'msh m3assab'].map(alternative).join('|')}) `,
  'gu',
);

const ANGRY_EMOJI: ReadonlyArray<{ emoji: string; weight: number }> = [
  { emoji: '🤬', weight: 3 },
  { emoji: '🖕', weight: 3 },
  { emoji: '😡', weight: 2 },
  { emoji: '😠', weight: 2 },
  { emoji: '👿', weight: 2 },
  { emoji: '💢', weight: 1 },
  { emoji: '😤', weight: 1 },
];

/** Capitals count as shouting when a message has 3+ capitalised words and 80 % of its Latin letters are capitals. */
function isShouting(text: string): boolean {
  const letters = text.match(/[A-Za-z\u00C0-\u024F]/gu) ?? [];
  if (letters.length < 10) return false;
  const upper = letters.filter((letter) => letter !== letter.toLowerCase()).length;
  const capitalWords = (text.match(/[\p{L}]+/gu) ?? []).filter(
    (word) => word.length >= 2 && word === word.toUpperCase() && word !== word.toLowerCase(),
  );
  return upper / letters.length >= 0.8 && capitalWords.length >= 3;
}

/**
 * A scored rule set over the customer's recent messages [AI4]. Each message scores each rule once,
 * at the highest weight it reaches (insults and profanity, threats — legal, "report you", "worst
 * clinic" —, money-back demands, "unacceptable", "ridiculous", "scam", being fed up or ignored,
 * angry emoji); shouting in capitals (2) and "!!!" (1) add at most `TYPOGRAPHY_MAX_SCORE` in all.
 * The scores add up over the messages; `isAngry` when the sum reaches `ANGER_THRESHOLD`.
 * `signals` lists what scored, as `category:rule` (`threat:legal`, `insult:profanity`,
 * `typography:shouting`, `emoji:😡` …), once each.
 */
export function scoreSentiment(texts: string[]): { score: number; isAngry: boolean; signals: string[] } {
  let lexical = 0;
  let typography = 0;
  const signals = new Set<string>();
  for (const text of texts) {
    const padded = ` ${normalizeText(text)} `.replace(NOT_ANGER, '  ');
    for (const rule of SENTIMENT_RULES) {
      const level = rule.levels.find(({ regex }) => regex.test(padded));
      if (level === undefined) continue;
      lexical += level.weight;
      signals.add(`${rule.category}:${rule.signal}`);
    }
    let angryEmoji = 0;
    for (const { emoji, weight } of ANGRY_EMOJI) {
      const count = text.split(emoji).length - 1;
      if (count === 0) continue;
      lexical += weight;
      angryEmoji += count;
      signals.add(`emoji:${emoji}`);
    }
    if (angryEmoji >= 2) lexical += 1;
    if (isShouting(text)) {
      typography += 2;
      signals.add('typography:shouting');
    }
    if (/!{3,}|(?:[!?]\s*){2,}!|[!?]*(?:!\?|\?!){2,}/u.test(text.replace(/[！]/gu, '!').replace(/[？؟]/gu, '?'))) {
      typography += 1;
      signals.add('typography:exclamations');
    }
  }
  const score = lexical + Math.min(typography, TYPOGRAPHY_MAX_SCORE);
  return { score, isAngry: score >= ANGER_THRESHOLD, signals: [...signals] };
}
