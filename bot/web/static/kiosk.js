/* Waiting-room kiosk: topic buttons, the shared chat (chat.js), a language switch and an idle
 * reset. The page comes rendered in the kiosk's default language (/kiosk?lang=hi); the switch
 * shows the texts of data/ui*.yml (from /config.json) marked data-ui="key" in another language.
 * Nothing personal is kept in browser storage: the session id lives in memory only, and after
 * `idle_seconds` without a touch (or on "Done") the screen is cleared, the language returns to
 * the default (the choice is kept in sessionStorage until then) and a new session begins.
 * `?idle=N` overrides the idle time (for tests).
 */
(function () {
  "use strict";
  const { Chat, el, fill, fmt, telHref } = window.MesoChat;
  const LANG_KEY = "meso-kiosk:lang";
  const page = document.querySelector(".kiosk");
  const pageLang = page.dataset.lang || null;
  const alertBox = document.getElementById("kiosk-alert");
  const emergencyLine = alertBox.querySelector(".kiosk-alert-emergency");
  const emergencyLink = alertBox.querySelector(".kiosk-alert-number");
  const idleLabel = document.getElementById("kiosk-idle");
  const grid = document.getElementById("kiosk-grid");
  const langButtons = Array.from(document.querySelectorAll(".kiosk-lang"));
  const storage = (fn) => {
    try {
      return fn(sessionStorage);
    } catch (e) {
      return null; // storage blocked: the choice lasts until the page reloads
    }
  };
  let config = {};
  let chosen = storage((s) => s.getItem(LANG_KEY));
  let lang = pageLang;
  let idleSeconds = 90;
  let chat = null;
  let lastTouch = Date.now();
  let topicButtons = [];

  function touch() {
    lastTouch = Date.now();
  }

  const dirOf = (code) => ((config.languages || []).some((l) => l.code === code && l.dir === "rtl") ? "rtl" : "ltr");

  function showAlert(escalation) {
    const number = escalation.emergency_number || page.dataset.emergency;
    emergencyLine.hidden = escalation.severity !== "emergency";
    emergencyLink.textContent = number;
    emergencyLink.href = telHref(number);
    alertBox.hidden = false;
  }

  function showTopics(topics) {
    topicButtons = topics.map((topic) => {
      const props = { type: "button", class: "kiosk-topic", lang: topic.lang, dir: topic.lang && dirOf(topic.lang) };
      props.disabled = !chat || !chat.online;
      props.onclick = () => chat.send(topic.payload, topic.title);
      return el("button", props, topic.title);
    });
    grid.replaceChildren(...topicButtons);
  }

  /** Show the kiosk in the chosen language, else its default; the page as served without texts. */
  function applyLanguage() {
    const ui = config.ui || {};
    lang = [chosen, pageLang, config.default_language].find((c) => c && ui[c]) || pageLang;
    const s = ui[lang];
    showTopics((config.topics_by_language || {})[lang] || config.topics || []);
    if (chat) chat.setLanguage(lang);
    if (!s) return void (idleLabel.textContent = idleLabel.textContent.replace(/\d+/, idleSeconds));
    Object.assign(document.documentElement, { lang, dir: dirOf(lang) });
    idleLabel.textContent = fmt(s.seconds, { n: idleSeconds });
    const slots = { idle: idleLabel, number: emergencyLink, clinic: page.dataset.clinic };
    for (const node of document.querySelectorAll("[data-ui]")) node.replaceChildren(...fill(s[node.dataset.ui], slots));
    for (const node of document.querySelectorAll("[data-ui-label]")) node.setAttribute("aria-label", s[node.dataset.uiLabel]);
    for (const button of langButtons) button.setAttribute("aria-pressed", String(button.dataset.lang === lang));
    showNotice((config.privacy_notices || {})[lang]);
  }

  /** The privacy notice of `lang` in the footer, as text (the policy's address is not a link). */
  function showNotice(notice) {
    const node = document.getElementById("kiosk-notice");
    if (!node || !notice || !notice.text) return;
    const address = el("bdi", { dir: "ltr" }, String(notice.policy_url || ""));
    const where = el("span", { class: "kiosk-notice-link" }, String(notice.link_label || ""), ": ", address);
    node.replaceChildren(String(notice.text), " ", where);
    node.lang = String(notice.lang || lang);
  }

  function choose(code) {
    chosen = code;
    storage((s) => s.setItem(LANG_KEY, code));
    applyLanguage();
    touch();
  }

  function reset() {
    alertBox.hidden = true;
    chosen = null;
    storage((s) => s.removeItem(LANG_KEY));
    chat.reset();
    applyLanguage();
    touch();
    window.scrollTo(0, 0);
  }

  function inUse() {
    return chat.entries.length > 0 || chat.input.value !== "" || !alertBox.hidden || chosen !== null;
  }

  async function loadConfig() {
    try {
      const response = await fetch("/config.json", { cache: "no-store" });
      if (response.ok) return await response.json();
    } catch (e) {
      // the English texts of ui-fallback.js below
    }
    await new Promise((resolve) => document.head.append(el("script", { src: "/ui-fallback.js", onload: resolve, onerror: resolve })));
    return window.MesoUiFallback || {};
  }

  loadConfig().then((loaded) => {
    config = loaded;
    if (!(config.ui || {})[chosen]) chosen = null;
    const fromQuery = Number(new URLSearchParams(location.search).get("idle"));
    idleSeconds = fromQuery > 0 ? fromQuery : config.idle_seconds || 90;
    const rtl = (config.languages || []).filter((l) => l.dir === "rtl").map((l) => l.code);
    chat = new Chat({
      mount: document.getElementById("kiosk-chat"),
      io: window.io,
      server: page.dataset.server,
      store: null,
      notices: false, // the kiosk's footer shows the notice for everyone (kiosk.html)
      texts: config.ui,
      rtl,
      lang,
      phone: config.phone,
      metadata: () => ({ surface: "kiosk", lang: chosen, page_lang: pageLang }),
      onEscalation: showAlert,
      onActivity: touch,
      onState: (state) => topicButtons.forEach((b) => (b.disabled = state !== "online")),
    });
    applyLanguage();
    for (const button of langButtons) button.addEventListener("click", () => choose(button.dataset.lang));
    document.getElementById("kiosk-done").addEventListener("click", reset);
    setInterval(() => {
      if (Date.now() - lastTouch >= idleSeconds * 1000 && inUse()) reset();
    }, 1000);
    chat.start();
  });

  for (const type of ["pointerdown", "keydown", "input", "wheel", "touchstart"]) {
    document.addEventListener(type, touch, { capture: true, passive: true });
  }
})();
