// Sounds and signs that reach someone not looking at the screen. An agent's phone ringing: a
// ring tone (Web Audio, nothing to download), a system notification (permission asked once,
// by the agent's click), and the tab's title flashing, all stopped when it stops ringing. A
// queue turning red on the wallboard: a chime. Browsers let a page make sound only after a
// click on it: app.js runs `unlock` on the first one.

const TONE_HZ = 425; // the ring tone's pitch in Russia and most of Europe
const BURST_EVERY_MS = 3000;
const FLASH_EVERY_MS = 1000;

let audio = null; // the AudioContext, made on the first click
let burstTimer = null;
let flashTimer = null;
let quietTitle = null; // the title to go back to
let notification = null;

/// Makes sound possible (a click's handler calls it): creates or resumes the audio context.
export function unlock() {
  const Context = window.AudioContext || window.webkitAudioContext;
  if (!audio && Context) audio = new Context();
  if (audio && audio.state === "suspended") audio.resume().catch(() => {});
}

/// True while the browser may still be asked to show notifications.
export function mayAsk() {
  return "Notification" in window && Notification.permission === "default";
}

/// Asks for notifications (from a click: browsers refuse otherwise) and unlocks the sound.
export async function askPermission() {
  unlock();
  if (mayAsk()) await Notification.requestPermission();
}

/// The phone rings: `title` flashes in the tab and heads the notification, `body` says who.
/// Called again with news of the caller, it only updates the notification.
export function start(title, body, tag) {
  notify(title, body, tag);
  if (burstTimer !== null) return;
  document.body.dataset.ringing = "true";
  burst();
  burstTimer = setInterval(burst, BURST_EVERY_MS);
  quietTitle = document.title;
  let lit = true;
  document.title = title;
  flashTimer = setInterval(() => {
    lit = !lit;
    document.title = lit ? title : quietTitle;
  }, FLASH_EVERY_MS);
}

/// The phone stopped ringing (answered, missed, or the caller left).
export function stop() {
  if (burstTimer === null) return;
  clearInterval(burstTimer);
  clearInterval(flashTimer);
  burstTimer = null;
  flashTimer = null;
  document.title = quietTitle;
  delete document.body.dataset.ringing;
  if (notification) notification.close();
  notification = null;
}

function notify(title, body, tag) {
  if (!("Notification" in window) || Notification.permission !== "granted") return;
  try {
    // The same tag replaces the earlier notification of this call.
    notification = new Notification(title, { body, tag, requireInteraction: true });
    notification.onclick = () => {
      window.focus();
      notification.close();
    };
  } catch {
    // Some browsers only notify from a service worker; the sound and the title still ring.
  }
}

/// Three rising notes: a queue turned red on the wallboard.
export function chime() {
  if (!audio || audio.state !== "running") return;
  const start = audio.currentTime;
  [660, 880, 1100].forEach((hz, i) => tone(hz, start + i * 0.18, 0.17, 0.2));
}

/// Two short tones, as a phone rings.
function burst() {
  if (!audio || audio.state !== "running") return;
  const start = audio.currentTime;
  for (const offset of [0, 0.45]) tone(TONE_HZ, start + offset, 0.4, 0.25);
}

/// One note of `hz` from `at` for `length` seconds, faded in and out (no clicks).
function tone(hz, at, length, volume) {
  const oscillator = audio.createOscillator();
  const gain = audio.createGain();
  oscillator.frequency.value = hz;
  gain.gain.setValueAtTime(0.0001, at);
  gain.gain.exponentialRampToValueAtTime(volume, at + 0.02);
  gain.gain.setValueAtTime(volume, at + length - 0.07);
  gain.gain.exponentialRampToValueAtTime(0.0001, at + length - 0.02);
  oscillator.connect(gain).connect(audio.destination);
  oscillator.start(at);
  oscillator.stop(at + length);
}
