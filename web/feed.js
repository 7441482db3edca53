// The live feed: one websocket to /ws (`wallboard` or `agent`), reconnected with back-off
// whenever it closes. While it is down the same messages are made by polling the HTTP API
// every two seconds (a snapshot of the queues, or the agent), so the screens keep working
// behind a proxy that blocks websockets. `document.body.dataset.feed` says which it is.

import { api, serverClock } from "./lib.js";

const POLL_MS = 2000;
const BACKOFF_FIRST_MS = 1000;
const BACKOFF_MAX_MS = 30000;

export class Feed {
  /// `kind`: "wallboard" or "agent"; `me`: the signed-in user; `onMessage(message, live)`
  /// gets every server message (live = from the socket, else from polling).
  constructor(kind, me, onMessage) {
    this.kind = kind;
    this.me = me;
    this.onMessage = onMessage;
    this.socket = null;
    this.backoff = BACKOFF_FIRST_MS;
    this.retry = null;
    this.poller = null;
    this.stopped = false;
    this.connect();
    this.setConnected(false);
  }

  connect() {
    if (this.stopped) return;
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    let socket;
    try {
      socket = new WebSocket(scheme + location.host + "/ws?feed=" + this.kind);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.addEventListener("open", () => {
      if (socket !== this.socket) return;
      this.backoff = BACKOFF_FIRST_MS;
      this.setConnected(true);
    });
    socket.addEventListener("message", (event) => {
      if (socket !== this.socket || typeof event.data !== "string") return;
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return; // one bad frame is not a reason to drop the feed
      }
      if (message && typeof message === "object") this.deliver(message, true);
    });
    socket.addEventListener("close", () => {
      if (socket !== this.socket) return;
      this.socket = null;
      this.setConnected(false);
      this.scheduleReconnect();
    });
    // An error is always followed by close; nothing to do here.
  }

  scheduleReconnect() {
    if (this.stopped || this.retry !== null) return;
    const delay = this.backoff * (0.75 + Math.random() * 0.5);
    this.backoff = Math.min(this.backoff * 2, BACKOFF_MAX_MS);
    this.retry = setTimeout(() => {
      this.retry = null;
      this.connect();
    }, delay);
  }

  deliver(message, live) {
    serverClock(message.at);
    try {
      this.onMessage(message, live);
    } catch (error) {
      console.error("switchdesk: rendering a feed message failed", error);
    }
  }

  setConnected(connected) {
    if (this.stopped) return;
    document.body.dataset.feed = connected ? "connected" : "reconnecting";
    const banner = document.getElementById("feed-banner");
    if (banner) banner.hidden = connected;
    if (connected) this.stopPolling();
    else this.startPolling();
  }

  startPolling() {
    if (this.poller !== null) return;
    const tick = async () => {
      if (this.stopped || this.poller === null) return;
      await this.pollOnce();
      if (this.poller !== null) this.poller = setTimeout(tick, POLL_MS);
    };
    this.poller = setTimeout(tick, 0);
  }

  stopPolling() {
    clearTimeout(this.poller);
    this.poller = null;
  }

  async pollOnce() {
    try {
      if (this.kind === "wallboard") {
        const result = await api("/api/queues");
        if (result.ok && this.poller !== null) this.deliver({ type: "snapshot", at: Date.now(), queues: result.body }, false);
      } else {
        const result = await api("/api/agents/" + encodeURIComponent(this.me.name));
        if (this.poller === null) return;
        if (result.ok) this.deliver({ type: "agent", at: Date.now(), agent: result.body }, false);
        else if (result.status === 404) this.deliver({ type: "snapshot", at: Date.now(), agent: null }, false);
      }
    } catch {
      // The service is away; the banner already says so, the next round tries again.
    }
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retry);
    this.stopPolling();
    if (this.socket) {
      const socket = this.socket;
      this.socket = null;
      socket.close();
    }
    delete document.body.dataset.feed;
    const banner = document.getElementById("feed-banner");
    if (banner) banner.hidden = true;
  }
}
