/**
 * Alerts for a customer who starts waiting: a short generated tone (Web Audio, no audio file) and a
 * browser notification. The permission is asked once, from a user gesture (browsers ignore or
 * penalise unprompted requests); the operator's off switch is kept in localStorage.
 */
const OFF_KEY = 'switchboard.alerts';
const ASKED_KEY = 'switchboard.notifications-asked';

export function areAlertsOn(): boolean {
  try {
    return localStorage.getItem(OFF_KEY) !== 'off';
  } catch {
    return true;
  }
}

export function setAlertsOn(on: boolean): void {
  try {
    localStorage.setItem(OFF_KEY, on ? 'on' : 'off');
  } catch {
    // Private mode without storage: the switch lasts for this page only.
  }
}

let audio: AudioContext | null = null;

/**
 * Called from a user gesture: unlocks audio (an AudioContext starts suspended without one) and asks
 * for the notification permission the first time only.
 */
export function primeAlerts(): void {
  if (!audio && typeof AudioContext !== 'undefined') audio = new AudioContext();
  if (audio?.state === 'suspended') void audio.resume().catch(() => {});
  if (typeof Notification === 'undefined' || Notification.permission !== 'default') return;
  try {
    if (localStorage.getItem(ASKED_KEY)) return;
    localStorage.setItem(ASKED_KEY, new Date().toISOString());
  } catch {
    // Without storage it is asked once per page.
  }
  void Notification.requestPermission().catch(() => {});
}

/** Two short rising tones, about 0.3 s. */
function chime(): void {
  if (!audio || audio.state !== 'running') return;
  const start = audio.currentTime;
  for (const [i, freq] of [660, 880].entries()) {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.type = 'sine';
    osc.frequency.value = freq;
    const t = start + i * 0.15;
    gain.gain.setValueAtTime(0.0001, t);
    gain.gain.exponentialRampToValueAtTime(0.2, t + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.14);
    osc.connect(gain).connect(audio.destination);
    osc.start(t);
    osc.stop(t + 0.15);
  }
}

/** A customer is waiting: tone and notification (clicking it opens the conversation). */
export function alertWaiting(conversationId: string, title: string, body: string, onClick: () => void): void {
  if (!areAlertsOn()) return;
  chime();
  if (typeof Notification === 'undefined' || Notification.permission !== 'granted') return;
  try {
    const n = new Notification(title, { body, tag: `switchboard-waiting-${conversationId}` });
    n.onclick = () => {
      window.focus();
      onClick();
      n.close();
    };
  } catch {
    // Some browsers allow notifications only from a service worker: the tone and title still tell.
  }
}
