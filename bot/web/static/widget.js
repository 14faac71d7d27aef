/* Website chat widget. Embed with one tag:
 *   <script src="https://HOST/widget.js" data-server="https://RASA-HOST" data-title="Ask us"
 *           data-color="#0f766e" data-lang="en" defer></script>
 * It adds a launcher button; the panel lives in a Shadow DOM so the page's CSS cannot reach it.
 * Styles, the vendored socket.io client and chat.js load from widget.js's own origin. The
 * session id and transcript stay in localStorage, so a returning visitor continues.
 * Texts: config.json (data/ui*.yml). data-lang (the page's language) is the default and sets the
 * launcher's side; the header's switch chooses for the session. Metadata: {surface, lang, page_lang}.
 */
(function () {
  "use strict";
  const script = document.currentScript;
  if (!script || window.MesoWidget) return;
  window.MesoWidget = {};
  const data = script.dataset;
  const asset = (path) => new URL(path, script.src).href;
  const server = (data.server || "http://localhost:5005").replace(/\/+$/, "");
  const key = "meso-chat:" + server;
  const attempt = (fn, fallback) => {
    try {
      return fn();
    } catch (e) {
      return fallback; // storage blocked or full: the chat works, it just isn't remembered
    }
  };
  const store = {
    load: () => attempt(() => JSON.parse(localStorage.getItem(key)), null),
    save: (state) => attempt(() => localStorage.setItem(key, JSON.stringify(state))),
    clear: () => attempt(() => localStorage.removeItem(key)),
  };

  const loadScript = (src) =>
    new Promise((resolve, reject) => {
      const tag = document.createElement("script");
      tag.src = src;
      tag.onload = resolve;
      tag.onerror = reject;
      document.head.append(tag);
    });

  async function loadLibraries() {
    const pageIo = window.io; // the page may have its own socket.io client: leave it in place
    await loadScript(asset("static/vendor/socket.io.min.js"));
    const io = window.io;
    window.io = pageIo;
    if (!window.MesoChat) await loadScript(asset("static/chat.js"));
    return io;
  }

  // At once, for the launcher. If a page's CSP forbids the fetch, ui-fallback.js has English.
  const config = fetch(asset("config.json"))
    .then((r) => (r.ok ? r.json() : Promise.reject()))
    .catch(() => loadScript(asset("ui-fallback.js")).then(() => window.MesoUiFallback))
    .catch(() => ({}));

  function node(tag, attrs, ...children) {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    n.append(...children);
    return n;
  }

  function icon() {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    const path = document.createElementNS(ns, "path");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    path.setAttribute("d", "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z");
    svg.append(path);
    return svg;
  }

  const pageLang = data.lang || null;
  const langKey = key + ":lang";
  let chosen = attempt(() => sessionStorage.getItem(langKey), null);
  let conf = {};
  let ui = {};
  let lang;
  let rtl = [];
  const dirOf = (c) => (rtl.includes(c) ? "rtl" : "ltr");

  const host = node("div", { "data-meso-widget": "" });
  if (data.color && window.CSS && CSS.supports("color", data.color)) host.style.setProperty("--meso-accent", data.color);
  const shadow = host.attachShadow({ mode: "open" });
  const launcher = node("button", { type: "button", class: "meso-launcher", "aria-expanded": "false", "aria-controls": "meso-panel" }, icon());
  const heading = node("h2", { id: "meso-title" });
  const restart = node("button", { type: "button", class: "meso-restart" });
  const close = node("button", { type: "button", class: "meso-close" }, "×");
  const switcher = node("div", { class: "meso-langs", role: "group" });
  const mount = node("div", { class: "meso-mount" });
  const foot = node("p", { class: "meso-foot" });
  // the panel on the page's side, its contents in the language's direction
  const inner = node("div", { class: "meso-ui" }, node("div", { class: "meso-head" }, heading, restart, close, switcher), mount, foot);
  const panel = node("div", { id: "meso-panel", class: "meso-panel", role: "dialog", "aria-labelledby": "meso-title", hidden: "" }, inner);
  const frame = node("div", { class: "meso-widget", hidden: "" }, launcher, panel);
  let pending = 3; // show nothing until both style sheets and config.json are in
  const ready = () => --pending || frame.removeAttribute("hidden");
  for (const css of ["static/chat.css", "static/widget.css"]) {
    const link = node("link", { rel: "stylesheet", href: asset(css) });
    link.onload = link.onerror = ready;
    shadow.append(link);
  }
  shadow.append(frame);
  document.body.append(host);

  let chat = null;
  let starting = null;

  /** Show the widget in the language chosen, else the page's, else the clinic's default. */
  function applyLanguage() {
    lang = [chosen, pageLang, conf.default_language].find((c) => ui[c]);
    const s = ui[lang];
    const M = window.MesoChat;
    if (!s) return; // the server is down
    const title = data.title || s.widget_title.replace("{clinic}", conf.clinic_name);
    for (const name of ["aria-label", "title"]) launcher.setAttribute(name, title);
    heading.textContent = title;
    Object.assign(inner, { lang, dir: dirOf(lang) });
    for (const b of switcher.children) b.setAttribute("aria-pressed", String(b.lang === lang));
    switcher.setAttribute("aria-label", s.language);
    if (!M) return; // the rest once chat.js is in (on opening)
    restart.textContent = s.restart;
    close.setAttribute("aria-label", s.close);
    const number = conf.emergency_number;
    const call = number && node("a", { href: M.telHref(number), dir: "ltr" }, number);
    foot.replaceChildren(...(number ? M.fill(s.footer, { number: call }) : []));
    if (chat) chat.setLanguage(lang);
  }

  config.then((c) => {
    conf = c;
    ui = conf.ui || {};
    rtl = (conf.languages || []).filter((l) => l.dir === "rtl").map((l) => l.code);
    if (!ui[chosen]) chosen = null;
    frame.setAttribute("dir", dirOf(pageLang));
    for (const l of conf.languages || []) {
      const b = node("button", { type: "button", class: "meso-lang", lang: l.code, dir: l.dir }, l.name);
      b.addEventListener("click", () => {
        chosen = l.code;
        attempt(() => sessionStorage.setItem(langKey, chosen));
        applyLanguage();
      });
      switcher.append(b);
    }
    applyLanguage();
    ready();
  });

  function startChat() {
    starting =
      starting ||
      Promise.all([loadLibraries(), config]).then(
        ([io]) => {
          const metadata = () => ({ surface: "widget", lang: chosen, page_lang: pageLang });
          const opts = { mount, io, server, store, phone: conf.phone, texts: conf.ui, rtl, lang, metadata };
          chat = new window.MesoChat.Chat(opts);
          applyLanguage();
          chat.start();
        },
        () => {
          mount.textContent = (ui[lang] || {}).offline_generic || "We can't reach the assistant right now.";
          starting = null;
        }
      );
    return starting;
  }

  function setOpen(open, focus = true) {
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", String(open));
    frame.classList.toggle("meso-open", open);
    attempt(() => sessionStorage.setItem(key + ":open", open ? "1" : ""));
    if (open) startChat().then(() => focus && chat && !panel.hidden && chat.focus());
    else if (focus) launcher.focus();
  }

  launcher.addEventListener("click", () => setOpen(panel.hidden));
  close.addEventListener("click", () => setOpen(false));
  restart.addEventListener("click", () => chat && (chat.reset(), chat.focus()));
  panel.addEventListener("keydown", (e) => {
    if (e.key !== "Escape") return;
    e.stopPropagation();
    setOpen(false);
  });
  if (attempt(() => sessionStorage.getItem(key + ":open"), "") === "1") setOpen(true, false);
  window.MesoWidget = { open: () => setOpen(true), close: () => setOpen(false) };
})();
