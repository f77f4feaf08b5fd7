import { describe, expect, it } from 'vitest';
import { ANGER_THRESHOLD, TYPOGRAPHY_MAX_SCORE, detectHumanRequest, scoreSentiment } from './handover-rules.js';

const REQUESTS: Record<'en' | 'ar' | 'fr' | 'arabizi', string[]> = {
  en: [
    'I want to talk to a human',
    'can I speak to someone',
    'real person please',
    'agent',
    'operator please',
    'Agent!!',
    'Hi, can I chat with a live agent?',
    'please connect me to a representative',
    'I need a human, not a bot',
    'Is there anyone I can talk to?',
    "I'd like to speak with your manager",
    "I don't want to talk to a bot",
    'HUMAN PLEASE',
    'let me speak to customer service',
    'transfer me to one of your staff',
    'is there a human here?',
    'can someone from your team call me',
    'I need someone',
  ],
  ar: [
    'بدي احكي مع حدا',
    'بدي موظف',
    'ممكن احكي مع شخص',
    'اريد التحدث مع موظف',
    'أريد التحدّث مع موظّف من فضلك',
    'عايزة أكلم حد من خدمة العملاء',
    'ابي اكلم موظف',
    'ابغى اتكلم مع احد',
    'هل يمكنني التحدث إلى موظف؟',
    'حولني على موظف لو سمحت',
    'في حدا احكي معه؟',
    'بدي حدا يحكي معي',
    'موظف لو سمحت',
    'ما بدي احكي مع روبوت',
    'لا، بدي احكي مع موظف',
    'ممكن تحولني لموظف',
    'بدي حدا',
  ],
  fr: [
    "je veux parler à quelqu'un",
    'un conseiller svp',
    'je voudrais parler à un humain',
    'Puis-je parler à un conseiller ?',
    'Est-ce que je peux discuter avec une vraie personne',
    "J'aimerais échanger avec un conseiller, s'il vous plaît",
    'Mettez-moi en relation avec un responsable',
    'passez-moi le service client',
    'je ne veux pas parler à un robot',
    "Je ne sais pas, je voudrais parler à quelqu’un de l'équipe",
    'Bonjour, un humain svp',
  ],
  arabizi: [
    'bade e7ke ma3 7ada',
    'baddi ehki ma3 shi hada',
    'fi 7ada e7ke ma3o',
    'mumkin e7ke ma3 mwazaf?',
    'bdi 7ada y7kine please',
    '3ayez akalem 7ad',
    'badde mwazzaf law sama7t',
    '7awelne 3a mwazaf',
    'ma bade e7ke ma3 robot',
    'baddddi e7ke ma3 7adaaa',
    'hi, bade e7ki ma3 insan 7a2i2e',
    'bade 7ada',
  ],
};

const ORDINARY: string[] = [
  // English
  'Hi, how much is a full-body laser session?',
  'I have a problem with my appointment time',
  'can you help me',
  'help me choose between the hydrafacial and the peeling',
  'speak english?',
  'do you have an operator room',
  'My booking for Tuesday was cancelled and nobody told me why',
  'I booked for 5pm but I got a message saying 3pm, something is wrong',
  'There is an issue with the payment link, it gives an error',
  'I have a complaint about the waiting time last visit',
  'The result was bad on my upper lip, can I get a free touch-up?',
  "What's the price of botox? Is there an offer this month?",
  "Is the doctor a woman? I'd prefer a female doctor",
  'Can I talk to you about the prices?',
  "Can someone tell me if you're open on Sunday?",
  'Help!! I forgot my appointment, can I come tomorrow instead?',
  "Where is the clinic exactly? I can't find the entrance",
  'Can I get a refund if I cancel 24 hours before?',
  "Is laser hair removal painful? I'm a bit scared",
  'THANK YOU SO MUCH!!!',
  'My insurance agent asked for an invoice, can you send it?',
  'Sue here, I booked a peeling for Thursday',
  'Are you a real clinic or an online shop?',
  'What is the worst side effect of the laser?',
  'My sister is a lawyer, can she book with me?',
  'Is there an agent for my insurance?',
  "I'm not angry, just asking about the price",
  'Can I speak to the doctor before booking?',
  // French
  "c'est un peu cher",
  'Bonjour, je voudrais prendre rendez-vous pour une épilation laser',
  "J'ai un problème avec mon rendez-vous de demain",
  "Pouvez-vous m'aider à choisir un soin pour le visage ?",
  "Quel est le prix d'une séance de laser ?",
  'Je ne trouve le lien de paiement nulle part',
  "Est-ce que la personne à l'accueil parle anglais ?",
  'Merci beaucoup, à bientôt !',
  'Je suis un peu déçue du résultat, est-ce normal ?',
  "Avez-vous un masque à l'avocat pour peau sèche ?",
  // Arabic
  'عندي مشكلة بالموعد',
  'كم سعر جلسة الليزر؟',
  'بدي احجز موعد يوم الخميس',
  'ممكن تساعدني اختار العلاج المناسب؟',
  'الموظفة قالتلي انو في عرض هالشهر',
  'في غلط بالفاتورة',
  'عندي شكوى بخصوص وقت الانتظار',
  'بدي غير موعدي لبكرا',
  'هل الدكتورة موجودة اليوم؟',
  'شكرا كتير، الله يعطيكم العافية',
  'ابغى اعرف اسعار البوتوكس',
  'عايزة احجز جلسة ليزر',
  'لا إله إلا الله، الحمدلله النتيجة حلوة',
  'بدي احكي مع الدكتورة عن النتيجة',
  'الله يلعن الشيطان، نسيت الموعد',
  'بدي حدا يساعدني اختار بين العروض',
  // Arabizi
  'kifak, adde se3r el laser?',
  'bade e7jez maw3ed bokra',
  '3ande moshkle bel maw3ed',
  'mumkin tse3edne ekhtar',
  'fi 7ada bi2elle shu el as3ar?',
  'merci ktir, yalla bshufak',
  'shu l offer hal shahr?',
  'ana t2akhart shway, fini ejeh 3al 5?',
  'bade e7ke ma3ak 3an el as3ar',
];

const ANGRY: string[] = [
  "This is unacceptable, I've been waiting for an hour",
  'You are a bunch of idiots',
  "I'll sue you if this isn't fixed",
  'Worst clinic ever, I am going to report you',
  'I WANT MY MONEY BACK NOW!!!',
  '😡😡 nobody is answering',
  'this is a scam',
  'fuck this place',
  'this is ridiculous, totally ridiculous service 🤬',
  'هذا مش مقبول أبداً',
  'يلعن هيك عيادة',
  'رح اشتكي عليكم بوزارة الصحة',
  'انتو نصابين وحرامية',
  'طفح الكيل منكم!!!',
  "C'est inadmissible, je vais porter plainte",
  "Vous êtes des incompétents, c'est une arnaque",
  "J'en ai marre !!! personne ne répond",
  'shu hal mahzale, mish ma2boul',
  'ra7 eshtke 3aleykon, nassabin',
  'yel3an hek 3iyade',
];

describe('detectHumanRequest', () => {
  for (const [language, texts] of Object.entries(REQUESTS)) {
    it(`[AI4] an explicit request for a human in ${language} hands over`, () => {
      expect(texts.length).toBeGreaterThanOrEqual(6);
      for (const text of texts) {
        const request = detectHumanRequest(text);
        expect(request, text).not.toBeNull();
        // The rule that matched is named, so the hand-over can say why.
        expect(request?.pattern, text).toMatch(new RegExp(`^${language}\\.`));
      }
    });
  }

  it('[AI4] ordinary customer messages are not a request for a human', () => {
    expect(ORDINARY.length).toBeGreaterThanOrEqual(40);
    const requests = ORDINARY.map((text) => [text, detectHumanRequest(text)?.pattern ?? null]).filter(([, pattern]) => pattern !== null);
    expect(requests).toEqual([]);
  });

  it('[AI4] a single noun is a request only when it is the whole message', () => {
    expect(detectHumanRequest('operator')?.pattern).toBe('en.only');
    expect(detectHumanRequest('an operator please')?.pattern).toBe('en.only');
    expect(detectHumanRequest('is the operator room downstairs?')).toBeNull();
    expect(detectHumanRequest('conseiller')?.pattern).toBe('fr.only');
    expect(detectHumanRequest('mon conseiller bancaire dit non')).toBeNull();
    expect(detectHumanRequest('موظف')?.pattern).toBe('ar.only');
    expect(detectHumanRequest('موظف الاستقبال كان لطيف')).toBeNull();
  });

  it('[AI4] patterns match whole words, not parts of words', () => {
    expect(detectHumanRequest('agents')).toBeNull();
    expect(detectHumanRequest('agency')).toBeNull();
    expect(detectHumanRequest('talk to somebodyelse')).toBeNull();
  });

  it('[AI4] a negated request does not hand over', () => {
    for (const text of [
      "I don't want to talk to a human, just tell me the price",
      'no need to speak to someone, thanks',
      'je ne veux pas parler à quelqu’un, juste le prix',
      'ما بدي احكي مع حدا، بس بدي السعر',
      'لا اريد التحدث مع موظف',
      'mish bade e7ke ma3 7ada',
    ]) {
      expect(detectHumanRequest(text), text).toBeNull();
    }
  });

  it('[AI4] spelling variants are normalised: case, accents, Arabic letter forms, repeated letters', () => {
    expect(detectHumanRequest('I WANT TO TALK TO A HUMAAAN')?.pattern).toBe('en.talk_to_human');
    expect(detectHumanRequest('pleeeease a real persoon')?.pattern).toBe('en.real_person');
    expect(detectHumanRequest('JE VEUX PARLER A QUELQU UN')?.pattern).toBe('fr.talk_to_human');
    expect(detectHumanRequest('بدّي أحكي مع حدا')?.pattern).toBe('ar.talk_to_human');
    expect(detectHumanRequest('بدى احكى مع حدا')?.pattern).toBe('ar.talk_to_human');
    expect(detectHumanRequest('اريد التحدث مع موظفة')?.pattern).toBe('ar.talk_to_human');
    expect(detectHumanRequest('badi ehki ma3 7ada')?.pattern).toBe('arabizi.talk_to_human');
  });

  it('[AI4] text without words is no request', () => {
    expect(detectHumanRequest('')).toBeNull();
    expect(detectHumanRequest('👍')).toBeNull();
    expect(detectHumanRequest('?!')).toBeNull();
  });
});

describe('scoreSentiment', () => {
  it('[AI4] the anger threshold is a named constant', () => {
    expect(ANGER_THRESHOLD).toBe(3);
  });

  it('[AI4] angry messages in English, Arabic, French and Arabizi count as angry', () => {
    expect(ANGRY.length).toBeGreaterThanOrEqual(15);
    for (const text of ANGRY) {
      const result = scoreSentiment([text]);
      expect(result.isAngry, `${text}: ${JSON.stringify(result)}`).toBe(true);
      expect(result.score).toBeGreaterThanOrEqual(ANGER_THRESHOLD);
      expect(result.signals.length).toBeGreaterThan(0);
    }
  });

  it('[AI4] ordinary customer messages, one by one and all together, are not angry', () => {
    const angry = ORDINARY.map((text) => [text, scoreSentiment([text])] as const).filter(([, result]) => result.isAngry);
    expect(angry).toEqual([]);
    // The recent messages of one calm conversation: a complaint, a problem, a refund question.
    expect(
      scoreSentiment([
        'I have a problem with my appointment time',
        'I have a complaint about the waiting time last visit',
        'Can I get a refund if I cancel 24 hours before?',
        'Help!! I forgot my appointment, can I come tomorrow instead?',
      ]).isAngry,
    ).toBe(false);
  });

  it('[AI4] a single broad word — problem, help, issue, wrong, complaint, bad — never escalates', () => {
    for (const word of [
      'problem',
      'help',
      'issue',
      'wrong',
      'complaint',
      'bad',
      'مشكلة',
      'ساعدني',
      'شكوى',
      'غلط',
      'problème',
      'aide',
      'moshkle',
    ]) {
      expect(scoreSentiment([word]), word).toEqual({ score: 0, isAngry: false, signals: [] });
    }
    expect(scoreSentiment(['problem help issue wrong complaint bad']).score).toBe(0);
  });

  it('[AI4] intensity adds up over the recent messages', () => {
    const ignored = scoreSentiment(['nobody answers']);
    const disappointed = scoreSentiment(['very disappointed']);
    expect(ignored.isAngry).toBe(false);
    expect(disappointed.isAngry).toBe(false);
    const both = scoreSentiment(['nobody answers', 'very disappointed']);
    expect(both.score).toBe(ignored.score + disappointed.score);
    expect(both.isAngry).toBe(true);
    expect(both.signals).toEqual(['dissatisfaction:ignored', 'dissatisfaction:disappointed']);
  });

  it('[AI4] one message scores a rule once, at its strongest phrase', () => {
    expect(scoreSentiment(['ridiculous']).score).toBe(2);
    expect(scoreSentiment(['this is ridiculous']).score).toBe(3);
    expect(scoreSentiment(['this is ridiculous, ridiculous, ridiculous']).score).toBe(3);
    expect(scoreSentiment(['this is ridiculous', 'this is ridiculous']).score).toBe(6);
  });

  it('[AI4] shouting and "!!!" add, but alone never make anger', () => {
    const shouting = scoreSentiment(['WHERE IS MY APPOINTMENT CONFIRMATION', 'WHY!!!', 'HELLO ARE YOU THERE!!!']);
    expect(shouting.signals).toEqual(['typography:shouting', 'typography:exclamations']);
    expect(shouting.score).toBe(TYPOGRAPHY_MAX_SCORE);
    expect(shouting.isAngry).toBe(false);
    expect(scoreSentiment(['THIS IS RIDICULOUS!!!']).score).toBe(3 + TYPOGRAPHY_MAX_SCORE);
    expect(scoreSentiment(['RIDICULOUS PRICES HERE!!!']).score).toBe(2 + TYPOGRAPHY_MAX_SCORE);
    expect(scoreSentiment(['Thank you!!!']).signals).toEqual(['typography:exclamations']);
    // A few capitalised words are not shouting.
    expect(scoreSentiment(['I booked the HIFU session at LUMIERE clinic']).signals).toEqual([]);
  });

  it('[AI4] angry emoji count, and more of them count more', () => {
    expect(scoreSentiment(['😡']).isAngry).toBe(false);
    expect(scoreSentiment(['😡😡']).isAngry).toBe(true);
    expect(scoreSentiment(['🤬']).isAngry).toBe(true);
    expect(scoreSentiment(['😡 ok']).signals).toEqual(['emoji:😡']);
  });

  it('[AI4] a name or an everyday word that looks like a threat is not one', () => {
    expect(scoreSentiment(['Sue here, can I book?']).score).toBe(0);
    expect(scoreSentiment(['I will report back after the session']).score).toBe(0);
    expect(scoreSentiment(["masque à l'avocat"]).score).toBe(0);
    expect(scoreSentiment(['انا محامي وبدي احجز']).isAngry).toBe(false);
  });

  it('[AI4] no messages, no anger', () => {
    expect(scoreSentiment([])).toEqual({ score: 0, isAngry: false, signals: [] });
  });
});
