/* Waiting-room kiosk: topic buttons, the shared chat (chat.js) and an idle reset.
 * Nothing is kept in browser storage: the session id lives in memory only, and after
 * `idle_seconds` without a touch (or on "Done") the screen is cleared and a new session begins.
 * `?idle=N` overrides the idle time (for tests).
 */
(function () {
  "use strict";
  const { Chat, el, telHref } = window.MesoChat;
  const page = document.querySelector(".kiosk");
  const alertBox = document.getElementById("kiosk-alert");
  const emergencyLine = alertBox.querySelector(".kiosk-alert-emergency");
  const emergencyLink = alertBox.querySelector(".kiosk-alert-number");
  const grid = document.getElementById("kiosk-grid");
  let lastTouch = Date.now();
  let topicButtons = [];

  function touch() {
    lastTouch = Date.now();
  }

  function showAlert(escalation) {
    const number = escalation.emergency_number || page.dataset.emergency;
    emergencyLine.hidden = escalation.severity !== "emergency";
    emergencyLink.textContent = number;
    emergencyLink.href = telHref(number);
    alertBox.hidden = false;
  }

  const chat = new Chat({
    mount: document.getElementById("kiosk-chat"),
    io: window.io,
    server: page.dataset.server,
    store: null,
    metadata: { surface: "kiosk" },
    onEscalation: showAlert,
    onActivity: touch,
    onState: (state) => topicButtons.forEach((b) => (b.disabled = state !== "online")),
  });

  function reset() {
    alertBox.hidden = true;
    chat.reset();
    touch();
    window.scrollTo(0, 0);
  }

  function inUse() {
    return chat.entries.length > 0 || chat.input.value !== "" || !alertBox.hidden;
  }

  function showTopics(topics) {
    topicButtons = topics.map((topic) =>
      el(
        "button",
        { type: "button", class: "kiosk-topic", disabled: !chat.online, onclick: () => chat.send(topic.payload, topic.title) },
        topic.title
      )
    );
    grid.replaceChildren(...topicButtons);
  }

  async function loadConfig() {
    try {
      const response = await fetch("/config.json", { cache: "no-store" });
      return response.ok ? await response.json() : {};
    } catch (e) {
      return {};
    }
  }

  loadConfig().then((config) => {
    const fromQuery = Number(new URLSearchParams(location.search).get("idle"));
    const idleSeconds = fromQuery > 0 ? fromQuery : config.idle_seconds || 90;
    document.getElementById("kiosk-idle").textContent = idleSeconds + " seconds";
    chat.setPhone(config.phone);
    showTopics(config.topics || []);
    setInterval(() => {
      if (Date.now() - lastTouch >= idleSeconds * 1000 && inUse()) reset();
    }, 1000);
  });

  for (const type of ["pointerdown", "keydown", "input", "wheel", "touchstart"]) {
    document.addEventListener(type, touch, { capture: true, passive: true });
  }
  document.getElementById("kiosk-done").addEventListener("click", reset);
  chat.start();
})();
