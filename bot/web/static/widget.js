/* Website chat widget. Embed with one tag:
 *   <script src="https://HOST/widget.js" data-server="https://RASA-HOST" data-title="Ask us"
 *           data-color="#0f766e" data-lang="en" defer></script>
 * It adds a launcher button; the panel lives in a Shadow DOM so the page's CSS cannot reach it.
 * Styles, the vendored socket.io client and chat.js load from widget.js's own origin. The
 * session id and transcript stay in localStorage, so a returning visitor continues.
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

  const loadConfig = () =>
    fetch(asset("config.json"))
      .then((r) => (r.ok ? r.json() : null))
      .catch(() => null);

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

  const title = data.title || "Ask our assistant";
  const host = node("div", { "data-meso-widget": "" });
  if (data.color && window.CSS && CSS.supports("color", data.color)) host.style.setProperty("--meso-accent", data.color);
  const shadow = host.attachShadow({ mode: "open" });
  const launcher = node("button", { type: "button", class: "meso-launcher", "aria-label": title, "aria-expanded": "false", "aria-controls": "meso-panel", title }, icon());
  const restart = node("button", { type: "button", class: "meso-restart" }, "Start over");
  const close = node("button", { type: "button", class: "meso-close", "aria-label": "Close chat" }, "×");
  const mount = node("div", { class: "meso-mount" });
  const foot = node("p", { class: "meso-foot" });
  const head = node("div", { class: "meso-head" }, node("h2", { id: "meso-title" }, title), restart, close);
  const panel = node("div", { id: "meso-panel", class: "meso-panel", role: "dialog", "aria-labelledby": "meso-title", hidden: "" }, head, mount, foot);
  const frame = node("div", { class: "meso-widget", lang: data.lang || "en", hidden: "" }, launcher, panel);
  let styles = 2; // show nothing until both style sheets are in
  for (const css of ["static/chat.css", "static/widget.css"]) {
    const link = node("link", { rel: "stylesheet", href: asset(css) });
    link.onload = link.onerror = () => --styles || frame.removeAttribute("hidden");
    shadow.append(link);
  }
  shadow.append(frame);
  document.body.append(host);

  let chat = null;
  let starting = null;
  function startChat() {
    starting =
      starting ||
      Promise.all([loadLibraries(), loadConfig()]).then(
        ([io, config]) => {
          const M = window.MesoChat;
          const s = M.STRINGS[data.lang] || M.STRINGS.en;
          restart.textContent = s.restart;
          close.setAttribute("aria-label", s.close);
          const number = config && config.emergency_number;
          if (number) foot.append(s.footer + " ", node("a", { href: M.telHref(number) }, number), ".");
          const phone = config && config.phone;
          chat = new M.Chat({ mount, io, server, store, phone, lang: data.lang, metadata: { surface: "widget" } });
          chat.start();
        },
        () => {
          mount.textContent = "We can't reach the assistant right now. Please try again later or call the clinic.";
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
