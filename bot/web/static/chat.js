/* MesoChat: the chat shared by the website widget (widget.js) and the kiosk (kiosk.js).
 * - Renders Rasa socket.io messages and the `meso` envelope with DOM APIs only: bot and user
 *   text always become text nodes, never markup.
 * - One Rasa session over socket.io: session_request (same id on every reconnect) and
 *   session_confirm; user_uttered out, bot_uttered in; socket.io retries with backoff.
 * - Each bot_uttered event is one reply (bot/channels/socketio.py): {text, quick_replies, meso}.
 *   It becomes one entry, drawn from the envelope when there is one, else from text and buttons.
 * - Its words come in each language (data/ui*.yml); a reply's bubble in its envelope's `lang`.
 * - The transcript is kept only through the `store` passed in (the kiosk passes none).
 * - `meso.notice` (the privacy notice) is small print under its reply; not on the kiosk.
 */
(function (global) {
  "use strict";
  const MAX_LENGTH = 1000;
  const MAX_ENTRIES = 200;
  const REPLY_TIMEOUT_MS = 30000;
  /** A text as a list for append(): each {name} becomes slots[name] (a node or a string). */
  const fill = (text, slots) => text.split(/\{(\w+)\}/).map((part, i) => (i % 2 ? slots[part] : part));
  const fmt = (text, vars) => fill(text, vars).join("");
  const telHref = (number) => "tel:" + String(number).replace(/[^\d+]/g, "");

  /** createElement with attributes (on* = listeners); string children become text nodes. */
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value == null || value === false) continue;
      if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children) if (child != null) node.append(child);
    return node;
  }

  function link(href, label) {
    const web = !href.startsWith("tel:");
    return el("a", { href, target: web && "_blank", rel: web && "noopener noreferrer", dir: !web && "ltr" }, label); // a number: ltr
  }

  // **bold**, [label](http(s) or tel URL), bare http(s) URLs; everything else stays text.
  const INLINE = /\*\*(.+?)\*\*|\[([^\]\n]+)\]\(((?:https?:\/\/|tel:)[^\s)]+)\)|(https?:\/\/[^\s<>"]*[^\s<>".,;:!?)'"])/g;
  const BULLET = /^\s*[-*•]\s+/;

  function inline(text) {
    const frag = document.createDocumentFragment();
    let last = 0;
    for (const m of text.matchAll(INLINE)) {
      frag.append(text.slice(last, m.index));
      frag.append(m[1] !== undefined ? el("strong", {}, inline(m[1])) : link(m[3] || m[4], m[2] || m[4]));
      last = m.index + m[0].length;
    }
    frag.append(text.slice(last));
    return frag;
  }

  /** The markdown subset: paragraphs, line breaks, "- " bullets, **bold**, links. */
  function renderMarkdown(text) {
    const frag = document.createDocumentFragment();
    for (const block of String(text == null ? "" : text).replace(/\r\n?/g, "\n").split(/\n\s*\n/)) {
      let list = null;
      let para = null;
      for (const line of block.split("\n")) {
        if (!line.trim()) continue;
        if (BULLET.test(line)) {
          para = null;
          if (!list) frag.append((list = el("ul")));
          list.append(el("li", {}, inline(line.replace(BULLET, ""))));
        } else {
          list = null;
          if (para) para.append(el("br"));
          else frag.append((para = el("p")));
          para.append(inline(line.trim()));
        }
      }
    }
    return frag;
  }

  /** The privacy notice: small print, its link only to an http(s) URL. */
  function renderNotice(n, chat) {
    if (!n || typeof n !== "object" || !n.text) return "";
    const code = String(n.lang || "");
    const lang = code === "hinglish" ? "hi-Latn" : code || null;
    const p = el("p", { class: "meso-notice", lang, dir: code && chat.dirOf(code) }, String(n.text));
    let url = null;
    try {
      url = new URL(String(n.policy_url));
    } catch (e) {} // no link
    if (url && /^https?:$/.test(url.protocol)) p.append(" ", link(url.href, String(n.link_label || url.href)));
    return p;
  }

  const buttonsOf = (list) =>
    (Array.isArray(list) ? list : [])
      .filter((b) => b && typeof b.payload === "string")
      .map((b) => ({ title: String(b.title || b.payload), payload: b.payload }));

  function renderEscalation(esc, s) {
    const level = ["emergency", "urgent"].includes(esc.severity) ? esc.severity : "routine";
    const box = el("div", { class: "meso-esc meso-esc-" + level, role: "alert" });
    const number = esc.emergency_number;
    if (level === "emergency") {
      box.append(el("strong", {}, s.emergency), " ");
      if (number) box.append(el("a", { class: "meso-call", href: telHref(number) }, fmt(s.call_now, { number })));
    } else if (level === "urgent") {
      box.append(el("strong", {}, s.urgent), " ");
      if (esc.clinic_phone) box.append(link(telHref(esc.clinic_phone), esc.clinic_phone));
    } else box.append(s.routine);
    const ticket = { ticket: el("bdi", {}, esc.reference) };
    if (esc.reference) box.append(el("span", { class: "meso-ticket" }, ...fill(s.ticket, ticket)));
    return box;
  }

  /** One transcript entry as DOM; a reply in its envelope's language (the bubble's lang, dir and
   * labels). */
  function renderEntry(entry, chat) {
    let s = chat.s;
    const sr = (text) => el("span", { class: "meso-sr" }, text + " ");
    if (entry.from === "user") return el("div", { class: "meso-msg meso-user", dir: "auto" }, sr(s.you), entry.text);
    if (entry.from === "note") return el("div", { class: "meso-msg meso-sys" }, entry.key ? s[entry.key] : entry.text);
    const env = entry.env && typeof entry.env === "object" ? entry.env : null;
    const lang = env && env.lang ? String(env.lang) : null;
    s = chat.texts[lang] || s;
    const props = { class: "meso-msg meso-bot", "data-kind": env ? String(env.kind) : "text", lang, dir: lang && chat.dirOf(lang) };
    // A clinician's handoff line (bot/rasa/handoff.py) is read out as the clinic team's.
    const box = el("div", props, sr(env && env.kind === "handoff" ? s.staff : s.bot));
    if (env && env.escalation) box.append(renderEscalation(env.escalation, s));
    if (env && env.disclaimer) {
      // first, so the caveat is read before any claim
      const label = el("span", { class: "meso-note-label" }, s.evidence);
      box.append(el("p", { class: "meso-note" }, label, " ", String(env.disclaimer)));
    }
    const body = env ? env.body : entry.text;
    if (body) box.append(el("div", { class: "meso-body" }, renderMarkdown(body)));
    const cites = (env && Array.isArray(env.citations) ? env.citations : []).filter(Boolean);
    if (cites.length) {
      const items = cites.map((c) => el("li", {}, String(c.title || c.id || "")));
      const summary = el("summary", {}, fmt(s.sources, { n: cites.length }));
      const reveal = (e) => e.target.open && e.target.scrollIntoView({ block: "nearest" });
      box.append(el("details", { class: "meso-sources", ontoggle: reveal }, summary, el("ol", {}, ...items)));
    }
    const buttons = env && buttonsOf(env.buttons).length ? buttonsOf(env.buttons) : entry.buttons || [];
    if (buttons.length) {
      const group = el("div", { class: "meso-choices", role: "group", "aria-label": s.replies });
      for (const b of buttons) {
        const props = { type: "button", class: "meso-choice", disabled: !!entry.used, onclick: () => chat.choose(entry, b) };
        group.append(el("button", props, b.title));
      }
      box.append(group);
    }
    if (env && chat.notices) box.append(renderNotice(env.notice, chat));
    return box;
  }

  /**
   * The conversation view and its Rasa session. opts: mount (element), io (socket.io client),
   * server (Rasa URL), texts ({lang: {key: text}}, data/ui*.yml), rtl (languages written right
   * to left), lang, phone, metadata() (sent with each message), store ({load, save, clear} or
   * null), notices (show the privacy notice; default true), onEscalation(escalation),
   * onActivity(), onState(state).
   */
  class Chat {
    constructor(opts) {
      const noop = () => {};
      const defaults = { onEscalation: noop, onActivity: noop, onState: noop, store: null, notices: true };
      Object.assign(this, defaults, opts);
      this.texts = opts.texts || {};
      this.rtl = opts.rtl || [];
      this.entries = [];
      this.nodes = new WeakMap();
      this.sessionId = this.socket = this.anchor = null;
      this.busy = this.online = this.failed = this.parked = false;
      this.build(opts.mount);
      this.setLanguage(opts.lang);
      const saved = this.store && this.store.load();
      try {
        this.sessionId = (saved && saved.sessionId) || null;
        if (saved) saved.entries.forEach((entry) => this.append(entry));
      } catch (e) {
        // a transcript this version cannot show: start afresh rather than break
        this.entries = [];
        this.sessionId = null;
        this.log.textContent = "";
        this.store.clear();
      }
      this.refresh();
    }

    dirOf(lang) {
      return this.rtl.includes(lang) ? "rtl" : "ltr";
    }

    /** Show the chat in `lang` (else the first language of `texts`). */
    setLanguage(lang) {
      this.lang = this.texts[lang] ? lang : Object.keys(this.texts)[0];
      const s = (this.s = this.texts[this.lang]);
      Object.assign(this.root, { lang: this.lang, dir: this.dirOf(this.lang) });
      this.log.setAttribute("aria-label", s.log);
      this.typingLabel.textContent = s.typing;
      this.input.placeholder = s.placeholder;
      this.input.setAttribute("aria-label", s.input_label);
      this.sendButton.textContent = s.send;
      this.tooLong.textContent = fmt(s.too_long, { max: MAX_LENGTH.toLocaleString("en") });
      this.empty.textContent = s.welcome;
      this.entries.forEach((entry) => this.redraw(entry));
      this.refresh();
    }

    build(mount) {
      this.status = el("div", { class: "meso-status", role: "status" });
      this.log = el("div", { class: "meso-log", role: "log", "aria-live": "polite", tabindex: "0" });
      const dots = el("span", { class: "meso-dots", "aria-hidden": "true" }, el("i"), el("i"), el("i"));
      this.typingLabel = el("span", { class: "meso-sr" });
      this.typing = el("div", { class: "meso-typing", hidden: true }, dots, this.typingLabel);
      this.input = el("textarea", {
        class: "meso-input",
        rows: "2",
        dir: "auto",
        autocomplete: "off",
        oninput: () => this.refresh(),
        onkeydown: (e) => {
          if (e.key !== "Enter" || e.shiftKey || e.isComposing) return;
          e.preventDefault();
          this.submit();
        },
      });
      this.sendButton = el("button", { type: "submit", class: "meso-send" });
      this.counter = el("span", { class: "meso-counter", dir: "ltr" });
      this.tooLong = el("p", { class: "meso-too-long", role: "alert", hidden: true });
      const form = el(
        "form",
        { class: "meso-composer", onsubmit: (e) => (e.preventDefault(), this.submit()) },
        this.input,
        this.sendButton,
        el("div", { class: "meso-meta" }, this.tooLong, this.counter)
      );
      this.empty = el("p", { class: "meso-empty" });
      this.root = el("div", { class: "meso-chat" }, this.status, this.empty, this.log, this.typing, form);
      mount.append(this.root);
    }

    /** Connect (idempotent); socket.io keeps retrying with backoff until the server answers. */
    start() {
      if (this.socket) return;
      const socket = (this.socket = this.io(this.server, {
        forceNew: true,
        transports: ["websocket", "polling"],
        tryAllTransports: true,
        reconnectionDelayMax: 10000,
        timeout: 8000,
      }));
      socket.on("connect", () => socket.emit("session_request", { session_id: this.sessionId }));
      socket.on("session_confirm", (data) => {
        const id = typeof data === "string" ? data : data && data.session_id;
        if (!id) return;
        this.sessionId = String(id);
        this.online = true;
        this.failed = false;
        this.save();
        this.refresh();
        if (this.parked && this.log.getRootNode().activeElement === this.log) this.input.focus();
        this.parked = false;
      });
      socket.on("connect_error", () => this.lost(true));
      socket.on("disconnect", (reason) => {
        this.lost(reason !== "io client disconnect");
        if (reason === "io server disconnect") socket.connect();
      });
      socket.on("bot_uttered", (msg) => this.receive(msg));
    }

    lost(failed) {
      this.online = false;
      this.failed = this.failed || failed;
      this.setBusy(false);
    }

    setPhone(phone) {
      this.phone = phone || null;
      this.refresh();
    }

    /** Clear the transcript and begin a new Rasa session (a new socket, so a new room). */
    reset() {
      if (this.socket) {
        this.socket.removeAllListeners();
        this.socket.disconnect();
        this.socket = null;
      }
      if (this.store) this.store.clear();
      this.entries = [];
      this.sessionId = this.anchor = null;
      this.online = this.failed = false;
      this.log.textContent = this.input.value = "";
      this.setBusy(false);
      this.start();
    }

    /** Focus the input; while it is disabled, the log (focus moves on when it is enabled). */
    focus() {
      this.parked = this.input.disabled;
      (this.parked ? this.log : this.input).focus();
    }

    canSend(text) {
      return this.online && !this.busy && !!text.trim() && Array.from(text).length <= MAX_LENGTH;
    }

    submit() {
      const text = this.input.value;
      if (this.canSend(text) && this.send(text.trim(), text.trim())) {
        this.input.value = "";
        this.refresh();
      }
    }

    /** Send `payload` to Rasa, show `shown` as the user's message; false when not sent. */
    send(payload, shown) {
      if (!this.online || this.busy) return false;
      const message = { message: payload, session_id: this.sessionId };
      if (this.metadata) message.metadata = this.metadata();
      this.socket.emit("user_uttered", message);
      this.anchor = null;
      this.add({ from: "user", text: shown });
      if (!this.held()) this.setBusy(true); // a person answers when they can: nothing to wait on
      this.onActivity();
      return true;
    }

    /** True while a clinician holds the conversation (bot/rasa/handoff.py): the latest handoff
     * notice said they joined, not that they handed it back. */
    held() {
      for (let i = this.entries.length - 1; i >= 0; i--) {
        const env = this.entries[i].env;
        if (env && env.kind === "handoff" && env.handoff !== "message") return env.handoff === "joined";
      }
      return false;
    }

    choose(entry, button) {
      if (entry.used || !this.send(button.payload, button.title)) return;
      entry.used = true;
      this.redraw(entry);
      this.save();
      this.focus();
    }

    /** One bot_uttered event: one reply, one entry. */
    receive(msg) {
      if (!msg || typeof msg !== "object") return;
      const env = msg.meso && typeof msg.meso === "object" ? msg.meso : null;
      const text = typeof msg.text === "string" ? msg.text : null;
      const buttons = buttonsOf(msg.quick_replies || msg.buttons);
      if (!env && text === null && !buttons.length) return;
      if (env && env.kind === "notice" && !this.notices) return;
      this.setBusy(false);
      const entry = this.add({ from: "bot", text, buttons, env, used: false });
      this.anchor = this.anchor || entry;
      this.scroll();
      if (env && env.escalation) this.onEscalation(env.escalation);
      this.onActivity();
    }

    add(entry) {
      this.append(entry);
      while (this.entries.length > MAX_ENTRIES) {
        const node = this.nodes.get(this.entries.shift());
        if (node) node.remove();
      }
      this.save();
      return entry;
    }

    append(entry) {
      this.entries.push(entry);
      this.redraw(entry);
    }

    redraw(entry) {
      const node = renderEntry(entry, this);
      const old = this.nodes.get(entry);
      if (old) old.replaceWith(node);
      else this.log.append(node);
      this.nodes.set(entry, node);
      this.scroll();
    }

    /** Show the start of the latest reply (with the question above it), else the end. */
    scroll() {
      const first = this.anchor && this.nodes.get(this.anchor);
      const log = this.log;
      if (!first) return void (log.scrollTop = log.scrollHeight);
      const question = first.previousElementSibling || first;
      log.scrollTop = Math.max(question.offsetTop, first.offsetTop - log.clientHeight / 3) - 12;
    }

    save() {
      if (this.store) this.store.save({ sessionId: this.sessionId, entries: this.entries });
    }

    setBusy(busy) {
      this.busy = busy;
      this.typing.hidden = !busy;
      clearTimeout(this.timer);
      if (busy) {
        this.timer = setTimeout(() => {
          this.setBusy(false);
          this.add({ from: "note", key: "no_answer" });
        }, REPLY_TIMEOUT_MS);
      }
      this.refresh();
    }

    /** Bring the status line, input, counter and send button in line with the state. */
    refresh() {
      const s = this.s;
      const state = this.online ? "online" : this.failed ? "offline" : "connecting";
      if (this.root.dataset.state !== state) {
        this.root.dataset.state = state;
        this.onState(state);
      }
      this.root.dataset.session = this.sessionId || "";
      this.status.hidden = this.online;
      this.empty.hidden = this.entries.length > 0;
      this.status.replaceChildren(
        ...(state === "connecting"
          ? [s.connecting]
          : this.phone
            ? [...fill(s.offline, { phone: link(telHref(this.phone), this.phone) }), " " + s.retrying]
            : [s.offline_generic + " " + s.retrying])
      );
      const text = this.input.value;
      const length = Array.from(text).length;
      const over = length > MAX_LENGTH;
      this.counter.textContent = length + " / " + MAX_LENGTH;
      this.counter.classList.toggle("meso-over", over);
      this.tooLong.hidden = !over;
      this.input.setAttribute("aria-invalid", String(over));
      this.input.disabled = !this.online;
      this.sendButton.disabled = !this.canSend(text);
    }
  }

  global.MesoChat = { Chat, el, fmt, fill, telHref, renderMarkdown };
})(window);
