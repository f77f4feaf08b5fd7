/*
 * Text analysis for the faq responder's retrieval: one pipeline for indexed entries and customer
 * messages alike, so both sides always agree on a term. Pure functions, no I/O.
 *
 *   fold → tokenise → (Arabizi → Arabic script) → stop words → light stemming → concepts
 *
 * The concept table is a small domain thesaurus (price/cost/charge, appointment/booking …) written
 * once per language; it is vocabulary, not copies of questions.
 */

export type KnowledgeLanguage = 'ar' | 'en' | 'fr';

const ARABIC_INDIC_DIGITS = /[\u0660-\u0669\u06F0-\u06F9]/g;
const COMBINING_MARKS = /\p{M}+/gu;

/**
 * Lower-case, Latin accents removed, Arabic normalised for matching: diacritics (tashkeel) and
 * tatweel dropped, alef forms (أ إ آ ٱ) → ا, hamza seats (ؤ → و, ئ → ي), ى → ي, ة → ه, Persian
 * letters to their Arabic twins, Arabic-Indic digits → 0-9.
 */
export function foldText(text: string): string {
  return (
    text
      .toLowerCase()
      // NFD splits é into e + ◌́ and أ/إ/آ/ؤ/ئ into their seat + a combining hamza/madda, so
      // dropping combining marks handles accents, tashkeel and hamza seats in one step.
      .normalize('NFD')
      .replace(COMBINING_MARKS, '')
      .replace(/\u0640/g, '')
      .replace(/\u0671/g, 'ا')
      .replace(/\u0649/g, 'ي')
      .replace(/\u06CC/g, 'ي')
      .replace(/\u06A9/g, 'ك')
      .replace(/\u0629/g, 'ه')
      .replace(/\u0621/g, '')
      .replace(ARABIC_INDIC_DIGITS, (d) => String((d.charCodeAt(0) & 0xf) % 10))
      .replace(/[’'`´]/g, "'")
  );
}

/** Words of one message after folding: letters and digits, apostrophes split (l'épilation → l, epilation). */
export function tokenise(folded: string): string[] {
  return folded.split(/[^\p{L}\p{N}]+/u).filter(Boolean);
}

const ARABIC_SCRIPT = /[\u0600-\u06FF]/;

/** A Latin-letter word that mixes letters with the digits Arabizi uses for Arabic sounds (7a2, as3ar, ba3ref). */
const ARABIZI_DIGIT_WORD = /^(?=.*[a-z])(?=.*[2356789])[a-z0-9]+$/;

/**
 * Common Arabizi (Levantine, Gulf, Egyptian) words and their Arabic-script form as this pipeline
 * folds it. Written once here; unknown Arabizi words with digits go through `transliterate`.
 */
const ARABIZI_WORDS: Record<string, string> = {
  shu: 'شو',
  shou: 'شو',
  sho: 'شو',
  chou: 'شو',
  chu: 'شو',
  esh: 'ايش',
  eish: 'ايش',
  aysh: 'ايش',
  eh: 'ايه',
  eih: 'ايه',
  ade: 'قديش',
  adeh: 'قديش',
  adesh: 'قديش',
  addesh: 'قديش',
  adeish: 'قديش',
  adaysh: 'قديش',
  '2ade': 'قديش',
  '2adesh': 'قديش',
  '2addesh': 'قديش',
  '2adeh': 'قديش',
  '2adde': 'قديش',
  adde: 'قديش',
  kam: 'كم',
  bkam: 'بكام',
  bikam: 'بكام',
  be2adesh: 'قديش',
  bi2adesh: 'قديش',
  kadesh: 'قديش',
  kif: 'كيف',
  keef: 'كيف',
  keif: 'كيف',
  kifak: 'كيفك',
  kifik: 'كيفك',
  izzay: 'ازاي',
  ezay: 'ازاي',
  wen: 'وين',
  wein: 'وين',
  wayn: 'وين',
  fen: 'فين',
  feen: 'فين',
  wain: 'وين',
  emta: 'امتى',
  emtin: 'امتى',
  aymta: 'امتى',
  imta: 'امتى',
  mata: 'متى',
  ayya: 'اي',
  ay: 'اي',
  aya: 'اي',
  fi: 'في',
  fee: 'في',
  fiyye: 'فيي',
  fiye: 'فيي',
  fini: 'فيني',
  feeni: 'فيني',
  lazem: 'لازم',
  lezim: 'لازم',
  bi2dar: 'بقدر',
  ba2der: 'بقدر',
  byenfa3: 'بينفع',
  binfa3: 'بينفع',
  fih: 'فيه',
  fiha: 'فيها',
  '3andkon': 'عندكم',
  '3andkom': 'عندكم',
  '3ndkn': 'عندكم',
  '3andak': 'عندك',
  '3andik': 'عندك',
  '3andkun': 'عندكم',
  '3indkon': 'عندكم',
  baddi: 'بدي',
  bade: 'بدي',
  badde: 'بدي',
  badi: 'بدي',
  biddi: 'بدي',
  bidi: 'بدي',
  '3ayez': 'عايز',
  '3ayza': 'عايزه',
  abgha: 'ابغى',
  abi: 'ابي',
  ma3: 'مع',
  ma3kon: 'معكم',
  w: 'و',
  wa: 'و',
  aw: 'او',
  walla: 'ولا',
  wla: 'ولا',
  la2: 'لا',
  ma: 'ما',
  mesh: 'مش',
  mish: 'مش',
  msh: 'مش',
  el: 'ال',
  al: 'ال',
  il: 'ال',
  l: 'ال',
  hal: 'هال',
  hay: 'هاي',
  hayda: 'هيدا',
  hyda: 'هيدا',
  hek: 'هيك',
  heik: 'هيك',
  ana: 'انا',
  ente: 'انت',
  enta: 'انت',
  enti: 'انتي',
  ntu: 'انتو',
  intu: 'انتو',
  nehna: 'نحن',
  a3mel: 'اعمل',
  '3mel': 'عمل',
  a3mil: 'اعمل',
  sawi: 'سوي',
  se3r: 'سعر',
  si3r: 'سعر',
  sa3r: 'سعر',
  as3ar: 'اسعار',
  es3ar: 'اسعار',
  '2as3ar': 'اسعار',
  tas3ira: 'تسعيره',
  taklfe: 'تكلفه',
  kelfe: 'كلفه',
  kalfe: 'كلفه',
  '7a2': 'حق',
  ha2: 'حق',
  '7a2o': 'حقه',
  '7a2a': 'حقها',
  '7e2': 'حق',
  '7a2ha': 'حقها',
  '7ag': 'حق',
  laser: 'ليزر',
  lazer: 'ليزر',
  leizer: 'ليزر',
  botox: 'بوتوكس',
  botoks: 'بوتوكس',
  filler: 'فيلر',
  fillers: 'فيلر',
  filer: 'فيلر',
  facial: 'فيشل',
  fashal: 'فيشل',
  hydrafacial: 'هيدرافيشل',
  tanzif: 'تنظيف',
  tanzeef: 'تنظيف',
  bashra: 'بشره',
  bachra: 'بشره',
  jalse: 'جلسه',
  jalseh: 'جلسه',
  jalsa: 'جلسه',
  jalsat: 'جلسات',
  jalset: 'جلسات',
  jlse: 'جلسه',
  maw3ed: 'موعد',
  maw3id: 'موعد',
  mow3ad: 'موعد',
  maw3ad: 'موعد',
  mw3d: 'موعد',
  maw3id2: 'موعد',
  '7ajz': 'حجز',
  '7ejz': 'حجز',
  e7joz: 'احجز',
  i7joz: 'احجز',
  a7joz: 'احجز',
  '7jez': 'حجز',
  '7jz': 'حجز',
  elghi: 'الغي',
  elghe: 'الغي',
  algha: 'الغي',
  ilgha2: 'الغاء',
  elgha2: 'الغاء',
  algi: 'الغي',
  lghi: 'الغي',
  eddawem: 'الدوام',
  dawem: 'دوام',
  dawam: 'دوام',
  daweem: 'دوام',
  fat7in: 'فاتحين',
  fet7in: 'فاتحين',
  fat7: 'فتح',
  btefta7o: 'بتفتحو',
  btfta7o: 'بتفتحو',
  bteftaho: 'بتفتحو',
  bitsakro: 'بتسكرو',
  btsakro: 'بتسكرو',
  sa3a: 'ساعه',
  sa3et: 'ساعات',
  saa3a: 'ساعه',
  mawjoudin: 'موجودين',
  mawjudin: 'موجودين',
  '3nwan': 'عنوان',
  '3enwen': 'عنوان',
  '3anwan': 'عنوان',
  ma7al: 'محل',
  mahal: 'محل',
  markaz: 'مركز',
  '3iyade': 'عياده',
  '3iyadeh': 'عياده',
  '3yade': 'عياده',
  parking: 'باركينغ',
  parkin: 'باركينغ',
  sayara: 'سياره',
  sayyara: 'سياره',
  msaf: 'موقف',
  maw2af: 'موقف',
  sff: 'صف',
  saff: 'صف',
  sof: 'صف',
  btewja3: 'بتوجع',
  btwja3: 'بتوجع',
  biwaja3: 'بيوجع',
  bywaje3: 'بيوجع',
  bywja3: 'بيوجع',
  wja3: 'وجع',
  waja3: 'وجع',
  alam: 'الم',
  '2alam': 'الم',
  mulim: 'مؤلم',
  '7amel': 'حامل',
  '7amle': 'حامل',
  hamle: 'حامل',
  '7aml': 'حمل',
  '7amil': 'حامل',
  '7ebla': 'حبلى',
  hebla: 'حبلى',
  cash: 'كاش',
  card: 'بطاقه',
  bitaqa: 'بطاقه',
  visa: 'فيزا',
  fisa: 'فيزا',
  dafe3: 'دفع',
  daf3: 'دفع',
  edfa3: 'ادفع',
  badfa3: 'بدفع',
  tasi2: 'تقسيط',
  ta2sit: 'تقسيط',
  taqsit: 'تقسيط',
  hdiye: 'هديه',
  hediye: 'هديه',
  hidiye: 'هديه',
  hadiyye: 'هديه',
  gift: 'هديه',
  cart: 'بطاقه',
  kart: 'بطاقه',
  estichara: 'استشاره',
  esteshara: 'استشاره',
  isti4ara: 'استشاره',
  ste4ara: 'استشاره',
  estshara: 'استشاره',
  consultation: 'استشاره',
  majani: 'مجاني',
  majjani: 'مجاني',
  balash: 'ببلاش',
  bbalash: 'ببلاش',
  ba3d: 'بعد',
  '2abl': 'قبل',
  abel: 'قبل',
  abl: 'قبل',
  '3ina': 'عنايه',
  '3inaye': 'عنايه',
  shams: 'شمس',
  chams: 'شمس',
  shmis: 'شمس',
  ghame2: 'غامق',
  ghame2a: 'غامقه',
  asmar: 'اسمر',
  samra: 'سمرا',
  lon: 'لون',
  loun: 'لون',
  jled: 'جلد',
  jild: 'جلد',
  bachrti: 'بشرتي',
  bashrti: 'بشرتي',
  bechrti: 'بشرتي',
  sha3r: 'شعر',
  sha3er: 'شعر',
  cha3r: 'شعر',
  izalet: 'ازاله',
  izale: 'ازاله',
  ezalet: 'ازاله',
  tajaid: 'تجاعيد',
  tja3id: 'تجاعيد',
  taja3id: 'تجاعيد',
  shfaf: 'شفاف',
  shfef: 'شفاف',
  shiffe: 'شفه',
  shfefe: 'شفاف',
  tabi3i: 'طبيعي',
  natije: 'نتيجه',
  nateje: 'نتيجه',
  btdoum: 'بتدوم',
  btdum: 'بتدوم',
  bitdoum: 'بتدوم',
  marra: 'مره',
  mara: 'مره',
  mrra: 'مره',
  adah: 'قديش',
  tawil: 'طويل',
  wa2t: 'وقت',
  wa2et: 'وقت',
  mudde: 'مده',
  moudde: 'مده',
  dactour: 'دكتور',
  doctor: 'دكتور',
  doktor: 'دكتور',
  daktor: 'دكتور',
  tabib: 'طبيب',
  '7akim': 'حكيم',
  khasm: 'خصم',
  '5asm': 'خصم',
  '7asm': 'حسم',
  '3ard': 'عرض',
  '3roud': 'عروض',
  '3urud': 'عروض',
  offer: 'عرض',
  offers: 'عروض',
  yom: 'يوم',
  youm: 'يوم',
  sabt: 'سبت',
  jom3a: 'جمعه',
  jum3a: 'جمعه',
  a7ad: 'احد',
  l2a7ad: 'الاحد',
  marhaba: 'مرحبا',
  mar7aba: 'مرحبا',
  mar7ba: 'مرحبا',
  salam: 'سلام',
  salamo: 'سلام',
  alaykom: 'عليكم',
  '3alaykom': 'عليكم',
  '3aleikum': 'عليكم',
  ahla: 'اهلا',
  ahlan: 'اهلا',
  hi: 'هاي',
  hello: 'هلو',
  shukran: 'شكرا',
  shokran: 'شكرا',
  choukran: 'شكرا',
  merci: 'ميرسي',
  mersi: 'ميرسي',
  yislamo: 'يسلمو',
  yeslamo: 'يسلمو',
  tislam: 'تسلم',
};

/**
 * Strong signs of Arabizi when no word mixes letters and digits: words that are not English or
 * French. A message with two of them (or one digit word) is read as Arabic in Latin letters.
 */
const ARABIZI_MARKERS = new Set([
  'shu',
  'shou',
  'sho',
  'ade',
  'adeh',
  'adesh',
  'addesh',
  'adeish',
  'kif',
  'keef',
  'wen',
  'wein',
  'baddi',
  'bade',
  'badde',
  'biddi',
  'fi',
  'hayda',
  'hek',
  'heik',
  'emta',
  'bkam',
  'bikam',
  'kam',
  'jalse',
  'jalseh',
  'jalsat',
  'dawem',
  'dawam',
  'mesh',
  'mish',
  'walla',
  'el',
  'il',
  'marhaba',
  'shukran',
  'yislamo',
  'ahlan',
  'izzay',
  'ezay',
  'fen',
  'feen',
  'abgha',
  'btdoum',
  'natije',
  'mawjoudin',
  'tabi3i',
]);

/** Counts of Arabizi evidence in a folded message (digit words, marker words). */
function arabiziEvidence(tokens: string[]): number {
  let evidence = 0;
  for (const t of tokens) {
    if (ARABIZI_DIGIT_WORD.test(t)) evidence += 2;
    else if (ARABIZI_MARKERS.has(t)) evidence += 1;
  }
  return evidence;
}

/** Whether a message is Arabic written in Latin letters (one digit word like 7a2, or two marker words). */
export function isArabizi(text: string): boolean {
  const folded = foldText(text);
  if (ARABIC_SCRIPT.test(folded)) return false;
  return arabiziEvidence(tokenise(folded)) >= 2;
}

const TRANSLITERATION: [RegExp, string][] = [
  [/sh|ch/g, 'ش'],
  [/kh|5/g, 'خ'],
  [/gh|8/g, 'غ'],
  [/th/g, 'ث'],
  [/dh/g, 'ذ'],
  [/2/g, 'ء'],
  [/3/g, 'ع'],
  [/7/g, 'ح'],
  [/6/g, 'ط'],
  [/9/g, 'ص'],
  [/b/g, 'ب'],
  [/t/g, 'ت'],
  [/j|g/g, 'ج'],
  [/h/g, 'ه'],
  [/d/g, 'د'],
  [/r/g, 'ر'],
  [/z/g, 'ز'],
  [/s/g, 'س'],
  [/f|v/g, 'ف'],
  [/q/g, 'ق'],
  [/k|c/g, 'ك'],
  [/l/g, 'ل'],
  [/m/g, 'م'],
  [/n/g, 'ن'],
  [/w|ou|oo|o|u/g, 'و'],
  [/y|ee|ei|ai|i/g, 'ي'],
  [/aa|a(?=$)/g, 'ا'],
  [/[ae]/g, ''],
  [/x/g, 'كس'],
  [/p/g, 'ب'],
];

/** A best-effort Arabic-script form of an unknown Arabizi word (consonants kept, short vowels dropped). */
export function transliterate(word: string): string {
  let out = word;
  for (const [pattern, letter] of TRANSLITERATION) out = out.replace(pattern, letter);
  return foldText(out.replace(/[a-z0-9]/g, ''));
}

const STOP_WORD_LISTS: Record<KnowledgeLanguage, Set<string>> = {
  en: new Set(
    (
      'a an the is are am was were be been do does did doing i me my mine we us our you your yours it its this that these those there here ' +
      'to of for in on at by from with about into as and or but if so than then can could would should will shall may might must ' +
      'what which who whom how whats hows please pls plz tell know want wanted like would im ive id youre theyre get got any some ' +
      'just also really very many ok okay hey hi hello dear thanks thank one need wondering question ask asking wanna gonna ' +
      'they them their he she him her his have has had not no yes there theres kind sort thing things something anything someone possible ' +
      'make come coming go going still quite let lets send actually exactly currently right now too when ' +
      // The place itself: every customer writes to it, so "your clinic" says nothing about the question.
      'clinic clinics center centre salon place'
    ).split(/\s+/),
  ),
  fr: new Set(
    (
      'le la les un une des du de d l au aux ce cet cette ces c est sont suis es etre et ou mais donc or ni car que qu qui quoi quel quelle quels quelles ' +
      'je j me m moi tu te t toi il elle on nous vous ils elles leur leurs mon ma mes ton ta tes son sa ses notre nos votre vos ' +
      'en y a ai as avez avons ont avoir fait faire peut peux pouvez pouvoir veux voudrais voulez vouloir souhaite aimerais ' +
      'dans sur sous pour par avec sans chez se s ne pas plus tres bien alors aussi comment combien svp stp merci bonjour bonsoir salut ' +
      'est-ce ca cela ceci si oui non quand ou-est tout tous toute toutes savoir dire question chose quelque ' +
      'peuvent venir viens vient aller vais envoyer envoyez dois doit faut possible exactement actuellement clinique centre institut'
    ).split(/\s+/),
  ),
  ar: new Set(
    (
      'في من على عن الى الي ان انه انها او و ثم هل ما ماذا شو ايش ايه اي هو هي هم انا انت انتي انتو نحن هذا هذه هذي هيدا هيدي هاد هاي ' +
      'هال ذلك تلك هناك هنا كان كانت يكون مع كل بعض عند عندي عندكم عندك عندكن لو اذا يا بدي ابي ابغى عايز عايزه اريد اود ممكن لكم لك لي ' +
      'الله شكرا مرحبا السلام عليكم اهلا لا مش ما مو بس كمان منكم عنكم فيه فيها فيكم يعني طيب تمام اسال سوال استفسر بخصوص حول لو سمحت ال ' +
      'لازم اعمل عمل نعمل بعمل سوي فيني فيي فينا بقدر اقدر نقدر بينفع ينفع معي معك سمحتي سمحتو بدك حابب حابه بحب كيف ليش انو انه شي حدا ' +
      'العياده عياده عيادتكم المركز مركز مركزكم'
    ).split(/\s+/),
  ),
};

/**
 * Domain vocabulary mapped to one concept term per idea, per language, applied after stemming.
 * Keys are stems as `stem` produces them.
 */
const CONCEPT_WORDS: Record<KnowledgeLanguage, Record<string, string>> = {
  en: {
    pric: 'price',
    price: 'price',
    cost: 'price',
    charg: 'price',
    fee: 'price',
    rate: 'price',
    expens: 'price',
    cheap: 'price',
    book: 'appointment',
    appointment: 'appointment',
    reserv: 'appointment',
    schedul: 'appointment',
    slot: 'appointment',
    visit: 'appointment',
    cancel: 'cancel',
    reschedul: 'cancel',
    postpon: 'cancel',
    mov: 'cancel',
    chang: 'cancel',
    open: 'hours',
    clos: 'hours',
    hour: 'hours',
    weekend: 'hours',
    saturday: 'hours',
    sunday: 'hours',
    friday: 'hours',
    where: 'location',
    address: 'location',
    locat: 'location',
    find: 'location',
    direct: 'location',
    situat: 'location',
    map: 'location',
    park: 'parking',
    car: 'parking',
    valet: 'parking',
    garag: 'parking',
    hurt: 'pain',
    pain: 'pain',
    painful: 'pain',
    sting: 'pain',
    ouch: 'pain',
    numb: 'pain',
    sore: 'pain',
    dark: 'skintype',
    tan: 'skintype',
    tann: 'skintype',
    olive: 'skintype',
    black: 'skintype',
    brown: 'skintype',
    typ: 'skintype',
    tone: 'skintype',
    fitzpatrick: 'skintype',
    sessions: 'session',
    session: 'session',
    treatment: 'session',
    round: 'session',
    tim: 'session',
    aftercar: 'aftercare',
    after: 'aftercare',
    sun: 'aftercare',
    sunbath: 'aftercare',
    gym: 'aftercare',
    shower: 'aftercare',
    beach: 'aftercare',
    pool: 'aftercare',
    swim: 'aftercare',
    sauna: 'aftercare',
    prepar: 'prepare',
    shav: 'prepare',
    before: 'prepare',
    wax: 'prepare',
    age: 'age',
    old: 'age',
    young: 'age',
    teen: 'age',
    teenager: 'age',
    daughter: 'age',
    son: 'age',
    kid: 'age',
    child: 'age',
    minor: 'age',
    minimum: 'age',
    men: 'men',
    man: 'men',
    guy: 'men',
    male: 'men',
    husband: 'men',
    beard: 'men',
    wrinkl: 'botox',
    botox: 'botox',
    lin: 'botox',
    forehead: 'botox',
    crow: 'botox',
    frown: 'botox',
    filler: 'filler',
    lip: 'filler',
    lips: 'filler',
    cheek: 'filler',
    jawlin: 'filler',
    hyaluron: 'filler',
    facial: 'facial',
    hydrafacial: 'facial',
    clean: 'facial',
    pore: 'facial',
    acn: 'facial',
    glow: 'facial',
    pay: 'payment',
    payment: 'payment',
    card: 'payment',
    cash: 'payment',
    credit: 'payment',
    instal: 'payment',
    installment: 'payment',
    visa: 'payment',
    consult: 'consultation',
    consultation: 'consultation',
    assess: 'consultation',
    free: 'free',
    pregnan: 'pregnant',
    pregnant: 'pregnant',
    breastfeed: 'pregnant',
    expect: 'pregnant',
    nurs: 'pregnant',
    gift: 'gift',
    voucher: 'gift',
    present: 'gift',
    birthday: 'gift',
    doctor: 'doctor',
    dermatologist: 'doctor',
    staff: 'doctor',
    qualifi: 'doctor',
    certifi: 'doctor',
    discount: 'offer',
    offer: 'offer',
    promot: 'offer',
    deal: 'offer',
    packag: 'offer',
    promo: 'offer',
    last: 'duration',
    long: 'duration',
    durat: 'duration',
    much: 'price',
  },
  fr: {
    prix: 'price',
    tarif: 'price',
    tarifair: 'price',
    cout: 'price',
    coute: 'price',
    couter: 'price',
    cher: 'price',
    rendez: 'appointment',
    rdv: 'appointment',
    reserv: 'appointment',
    prendr: 'appointment',
    book: 'appointment',
    annul: 'cancel',
    report: 'cancel',
    decal: 'cancel',
    deplac: 'cancel',
    modifi: 'cancel',
    ouvert: 'hours',
    ouvr: 'hours',
    horair: 'hours',
    ferm: 'hours',
    heur: 'hours',
    samedi: 'hours',
    dimanch: 'hours',
    adress: 'location',
    trouv: 'location',
    situ: 'location',
    loc: 'location',
    ou: 'location',
    plan: 'location',
    park: 'parking',
    parking: 'parking',
    stationn: 'parking',
    garer: 'parking',
    gar: 'parking',
    voitur: 'parking',
    mal: 'pain',
    douleur: 'pain',
    douloureu: 'pain',
    douloureus: 'pain',
    pique: 'pain',
    pic: 'pain',
    fonc: 'skintype',
    mat: 'skintype',
    noir: 'skintype',
    bronz: 'skintype',
    phototyp: 'skintype',
    typ: 'skintype',
    seanc: 'session',
    sceanc: 'session',
    traitement: 'session',
    apres: 'aftercare',
    soleil: 'aftercare',
    sport: 'aftercare',
    douch: 'aftercare',
    plage: 'aftercare',
    piscin: 'aftercare',
    prepar: 'prepare',
    ras: 'prepare',
    avant: 'prepare',
    cire: 'prepare',
    age: 'age',
    ans: 'age',
    fille: 'age',
    fils: 'age',
    ado: 'age',
    adolescent: 'age',
    mineur: 'age',
    enfant: 'age',
    minimum: 'age',
    homm: 'men',
    homme: 'men',
    masculin: 'men',
    mari: 'men',
    barb: 'men',
    botox: 'botox',
    rid: 'botox',
    front: 'botox',
    pattes: 'botox',
    injection: 'filler',
    acid: 'filler',
    hyaluroniqu: 'filler',
    levr: 'filler',
    pommet: 'filler',
    facial: 'facial',
    nettoyag: 'facial',
    visag: 'facial',
    pore: 'facial',
    acne: 'facial',
    hydrafacial: 'facial',
    pai: 'payment',
    pay: 'payment',
    paiement: 'payment',
    regl: 'payment',
    cart: 'payment',
    espec: 'payment',
    plusieur: 'payment',
    foi: 'payment',
    consult: 'consultation',
    consultation: 'consultation',
    bilan: 'consultation',
    gratuit: 'free',
    enceint: 'pregnant',
    grossess: 'pregnant',
    allait: 'pregnant',
    cade: 'gift',
    cadeau: 'gift',
    bon: 'gift',
    offrir: 'gift',
    anniversair: 'gift',
    medecin: 'doctor',
    docteur: 'doctor',
    dermatolog: 'doctor',
    qualifi: 'doctor',
    personnel: 'doctor',
    promot: 'offer',
    promo: 'offer',
    reduct: 'offer',
    remis: 'offer',
    forfait: 'offer',
    offr: 'offer',
    dur: 'duration',
    temp: 'duration',
  },
  ar: {
    سعر: 'price',
    اسعار: 'price',
    تكلف: 'price',
    كلف: 'price',
    قديش: 'price',
    بكام: 'price',
    تسعير: 'price',
    حق: 'price',
    ثمن: 'price',
    شقد: 'price',
    غالي: 'price',
    سعار: 'price',
    موعد: 'appointment',
    مواعيد: 'appointment',
    حجز: 'appointment',
    احجز: 'appointment',
    نحجز: 'appointment',
    حجوزات: 'appointment',
    الغي: 'cancel',
    الغاء: 'cancel',
    لغي: 'cancel',
    اجل: 'cancel',
    تاجيل: 'cancel',
    غير: 'cancel',
    تغيير: 'cancel',
    لغاء: 'cancel',
    دوام: 'hours',
    فاتحين: 'hours',
    فتح: 'hours',
    بتفتحو: 'hours',
    تفتحو: 'hours',
    بتسكرو: 'hours',
    سكر: 'hours',
    ساع: 'hours',
    اوقات: 'hours',
    مفتوح: 'hours',
    جمع: 'hours',
    سبت: 'hours',
    احد: 'hours',
    امتى: 'hours',
    وين: 'location',
    فين: 'location',
    عنوان: 'location',
    موقع: 'location',
    مكان: 'location',
    موجودين: 'location',
    لوكيشن: 'location',
    باركينغ: 'parking',
    موقف: 'parking',
    اصف: 'parking',
    يصف: 'parking',
    صفه: 'parking',
    مواقف: 'parking',
    صف: 'parking',
    سيار: 'parking',
    اركن: 'parking',
    باركنج: 'parking',
    وجع: 'pain',
    بتوجع: 'pain',
    بيوجع: 'pain',
    الم: 'pain',
    مولم: 'pain',
    يولم: 'pain',
    توجع: 'pain',
    يوجع: 'pain',
    غامق: 'skintype',
    اسمر: 'skintype',
    سمرا: 'skintype',
    سمراء: 'skintype',
    لون: 'skintype',
    داكن: 'skintype',
    جلس: 'session',
    جلسات: 'session',
    عناي: 'aftercare',
    شمس: 'aftercare',
    بعد: 'aftercare',
    رياض: 'aftercare',
    حمام: 'aftercare',
    بوتوكس: 'botox',
    بوتكس: 'botox',
    تجاعيد: 'botox',
    جبين: 'botox',
    خطوط: 'botox',
    فيلر: 'filler',
    شفاف: 'filler',
    شف: 'filler',
    خدود: 'filler',
    تعبي: 'filler',
    نفخ: 'filler',
    هيالورونيك: 'filler',
    فيشل: 'facial',
    هيدرافيشل: 'facial',
    تنظيف: 'facial',
    مسامات: 'facial',
    حبوب: 'facial',
    وج: 'facial',
    دفع: 'payment',
    ادفع: 'payment',
    بدفع: 'payment',
    ندفع: 'payment',
    كاش: 'payment',
    بطاق: 'payment',
    فيزا: 'payment',
    تقسيط: 'payment',
    نقد: 'payment',
    كريدت: 'payment',
    استشار: 'consultation',
    استشاره: 'consultation',
    كشف: 'consultation',
    مجاني: 'free',
    ببلاش: 'free',
    مجانا: 'free',
    حامل: 'pregnant',
    حمل: 'pregnant',
    حبلي: 'pregnant',
    رضاع: 'pregnant',
    مرضع: 'pregnant',
    هدي: 'gift',
    هديه: 'gift',
    هدايا: 'gift',
    قسيم: 'gift',
    قسيمه: 'gift',
    احلق: 'prepare',
    حلاق: 'prepare',
    تحضير: 'prepare',
    اتحضر: 'prepare',
    قبل: 'prepare',
    شمع: 'prepare',
    عمر: 'age',
    سن: 'age',
    بنتي: 'age',
    ابني: 'age',
    صغير: 'age',
    مراهق: 'age',
    عمرها: 'age',
    عمره: 'age',
    رجال: 'men',
    رجل: 'men',
    شباب: 'men',
    زوجي: 'men',
    ذقن: 'men',
    دقن: 'men',
    دكتور: 'doctor',
    طبيب: 'doctor',
    اطباء: 'doctor',
    دكاتر: 'doctor',
    حكيم: 'doctor',
    عرض: 'offer',
    عروض: 'offer',
    خصم: 'offer',
    حسم: 'offer',
    باقات: 'offer',
    باق: 'offer',
    مد: 'duration',
    بتدوم: 'duration',
    يدوم: 'duration',
    تدوم: 'duration',
    وقت: 'duration',
    طويل: 'duration',
    ليزر: 'laser',
    شعر: 'hair',
    ازال: 'removal',
  },
};

/** Light suffix stripping for English and French (both pass through the same rules). */
function stemLatin(word: string): string {
  if (word.length <= 3) return word;
  let w = word;
  for (const suffix of [
    'ations',
    'ation',
    'ements',
    'ement',
    'ments',
    'ment',
    'ings',
    'ing',
    'ies',
    'ied',
    'ees',
    'ee',
    'es',
    'ed',
    'er',
    'ez',
    'ly',
    's',
    'x',
    'e',
  ]) {
    if (w.endsWith(suffix) && w.length - suffix.length >= 3) {
      w = w.slice(0, -suffix.length);
      if (suffix === 'ies' || suffix === 'ied') w += 'y';
      break;
    }
  }
  return w;
}

const ARABIC_PREFIXES = ['وبال', 'وال', 'بال', 'كال', 'فال', 'عال', 'لل', 'ال'];
const ARABIC_SUFFIXES = ['اتها', 'اتكم', 'ات', 'تي', 'تك', 'ين', 'ون', 'يه', 'ها', 'هم', 'كم', 'كن', 'نا', 'ه'];

/** Light Arabic stemming: the article with its attached conjunctions/prepositions, and common suffixes. */
function stemArabic(word: string): string {
  let w = word;
  for (const prefix of ARABIC_PREFIXES) {
    if (w.startsWith(prefix) && w.length - prefix.length >= 2) {
      w = w.slice(prefix.length);
      break;
    }
  }
  for (const suffix of ARABIC_SUFFIXES) {
    if (w.endsWith(suffix) && w.length - suffix.length >= 3) {
      w = w.slice(0, -suffix.length);
      break;
    }
  }
  return w;
}

const stemOf = (word: string): string => (ARABIC_SCRIPT.test(word) ? stemArabic(word) : stemLatin(word));
const mapLanguages = <T, U>(table: Record<KnowledgeLanguage, T>, f: (value: T) => U): Record<KnowledgeLanguage, U> => ({
  ar: f(table.ar),
  en: f(table.en),
  fr: f(table.fr),
});

/** The tables in the form the pipeline meets words: folded (stop words) and folded + stemmed (concepts). */
const STOP_WORDS = mapLanguages(STOP_WORD_LISTS, (set) => new Set([...set].map(foldText)));
const CONCEPTS = mapLanguages(CONCEPT_WORDS, (words) => {
  const map: Record<string, string> = {};
  for (const [word, concept] of Object.entries(words)) map[stemOf(foldText(word))] = concept;
  return map;
});
const ARABIZI = Object.fromEntries(Object.entries(ARABIZI_WORDS).map(([k, v]) => [k, foldText(v)]));

export interface Analysis {
  /** The language the terms were analysed as (Arabizi reads as `ar`). */
  language: KnowledgeLanguage;
  /** Index/query terms: stems, with concept terms for known vocabulary; deduplicated in order. */
  terms: string[];
  /** One group per meaningful word: its stem and, for known vocabulary, its concept (either matching counts once). */
  units: string[][];
  /** Whether the text was read as Arabizi. */
  arabizi: boolean;
}

const FRENCH_ACCENTS = /[àâçéèêëîïôûùüÿœæ]/giu;

/**
 * The language of a text for retrieval: Arabic script (more Arabic letters than Latin) or Arabizi
 * → `ar`; Latin text is French when French stop words and accents outnumber English stop words.
 * Kept here, not shared with notices' detection, so retrieval does not move when that does.
 */
function detect(text: string, folded: string, tokens: string[]): KnowledgeLanguage {
  const arabic = (folded.match(/[\u0600-\u06FF]/g) ?? []).length;
  const latin = (folded.match(/[a-z]/g) ?? []).length;
  if (arabic > latin) return 'ar';
  if (arabiziEvidence(tokens) >= 2) return 'ar';
  let french = (text.match(FRENCH_ACCENTS) ?? []).length;
  let english = 0;
  for (const token of tokens) {
    if (STOP_WORD_LISTS.fr.has(token)) french++;
    if (STOP_WORD_LISTS.en.has(token)) english++;
  }
  return french > english ? 'fr' : 'en';
}

/** The retrieval language of a text (Arabizi counts as Arabic). */
export function retrievalLanguage(text: string): KnowledgeLanguage {
  const folded = foldText(text);
  return detect(text, folded, tokenise(folded));
}

function termsOf(word: string, language: KnowledgeLanguage): string[] {
  const arabic = ARABIC_SCRIPT.test(word);
  const lang: KnowledgeLanguage = arabic ? 'ar' : language === 'ar' ? 'en' : language;
  if (STOP_WORDS[lang].has(word) || (arabic && STOP_WORDS.ar.has(word))) return [];
  // Arabic particles glued to a word (و+, ب+) are left alone: stemming only the article keeps short words intact.
  const stem = stemOf(word);
  if (stem.length < 2 && !/\d/.test(stem)) return [];
  const concept = CONCEPTS[lang][stem];
  return concept && concept !== stem ? [stem, concept] : [stem];
}

/**
 * The terms of a text, for indexing (with the entry's language) or for a query (language guessed).
 * Arabizi words become Arabic script through the word table, else by transliteration when they
 * carry Arabizi digits; other Latin words (brand names) are kept as they are.
 */
export function analyse(text: string, language?: KnowledgeLanguage): Analysis {
  const folded = foldText(text);
  const tokens = tokenise(folded);
  const arabizi = !ARABIC_SCRIPT.test(folded) && arabiziEvidence(tokens) >= 2 && language !== 'en' && language !== 'fr';
  const lang: KnowledgeLanguage = language ?? (arabizi ? 'ar' : detect(text, folded, tokens));
  const terms: string[] = [];
  const units: string[][] = [];
  const seen = new Set<string>();
  const seenUnits = new Set<string>();
  for (const token of tokens) {
    let words: string[] = [token];
    if (arabizi) {
      const mapped = ARABIZI[token];
      if (mapped !== undefined) words = mapped.split(' ');
      else if (ARABIZI_DIGIT_WORD.test(token)) words = [transliterate(token)];
    }
    for (const word of words) {
      const unit = termsOf(word, lang);
      if (unit.length === 0) continue;
      const key = unit.join(' ');
      if (!seenUnits.has(key)) {
        seenUnits.add(key);
        units.push(unit);
      }
      for (const term of unit) {
        if (!seen.has(term)) {
          seen.add(term);
          terms.push(term);
        }
      }
    }
  }
  return { language: lang, terms, units, arabizi };
}

export type SmallTalk = 'greeting' | 'thanks' | 'farewell';

/** Words a greeting, thanks or goodbye is made of; the kind is that of its strongest word (farewell > thanks > greeting). */
const SMALL_TALK_WORDS: Record<SmallTalk | 'filler', string> = {
  greeting:
    'hi hello hey hiya morning evening afternoon bonjour bonsoir salut coucou allo مرحبا مرحبتين هلا اهلا سلام السلام صباح مساء هاي هلو ' +
    'marhaba mar7aba mar7ba salam ahla ahlan hala sabah masa kheir kher alaykom 3alaykom',
  thanks: 'thanks thank thx ty merci شكرا يسلمو تسلم تسلمي ميرسي يعطيكم العافيه shukran shokran choukran yislamo yeslamo tislam mersi',
  farewell: 'bye goodbye revoir bslema السلامه',
  filler:
    'good you very much a lot so great perfect ok okay cool beaucoup parfait super genial top au d accord el كتير جزيلا تمام ممتاز عليكم الخير النور مع ' +
    'ktir kteer tamam ktiir yalla dear madam sir there team all everyone tout le monde',
};
const SMALL_TALK = new Map<string, SmallTalk | 'filler'>();
for (const [kind, words] of Object.entries(SMALL_TALK_WORDS) as [SmallTalk | 'filler', string][]) {
  for (const word of words.split(/\s+/)) SMALL_TALK.set(foldText(word), kind);
}
const STRENGTH: Record<SmallTalk | 'filler', number> = { filler: 0, greeting: 1, thanks: 2, farewell: 3 };

/**
 * A message made only of greeting, thanks or goodbye words (in any of the three languages or
 * Arabizi) gets a short friendly answer instead of a retrieval miss. Null when it says more.
 */
export function smallTalkOf(text: string): SmallTalk | null {
  const tokens = tokenise(foldText(text));
  if (tokens.length === 0 || tokens.length > 8) return null;
  let kind: SmallTalk | 'filler' = 'filler';
  for (const token of tokens) {
    const k = SMALL_TALK.get(token);
    if (k === undefined) return null;
    if (STRENGTH[k] > STRENGTH[kind]) kind = k;
  }
  return kind === 'filler' ? null : kind;
}
