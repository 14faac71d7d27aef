/* Live handoff thread of a ticket page: new lines, delivery results and who holds the
 * conversation arrive as server-sent events (bot/web/clinician/handoff.py). Every text is set
 * with textContent, so HTML typed by a patient or a clinician is shown as text. */
(function () {
  "use strict";
  const panel = document.getElementById("handoff");
  if (!panel || !panel.dataset.events || !window.EventSource) return;
  const thread = panel.querySelector(".handoff-thread");
  const empty = panel.querySelector(".handoff-empty");
  const holder = panel.querySelector(".handoff-holder");

  function para(cls, text) {
    const p = document.createElement("p");
    p.className = cls;
    p.textContent = text;
    return p;
  }

  function render(line) {
    const li = document.createElement("li");
    li.className = "handoff-line from-" + line.sender;
    li.dataset.id = String(line.id);
    li.dataset.delivery = line.delivery;
    const speaker = document.createElement("span");
    speaker.className = "speaker";
    speaker.textContent = line.speaker;
    const time = document.createElement("time");
    time.dateTime = line.at;
    time.textContent = line.time;
    li.append(speaker, " ", time);
    if (line.notice) li.append(para("handoff-notice", line.notice));
    if (line.text) li.append(para("patient-text handoff-text", line.text));
    if (line.status) li.append(para("handoff-status", line.status));
    return li;
  }

  function existing(id) {
    return thread.querySelector('.handoff-line[data-id="' + String(Number(id)) + '"]');
  }

  const url =
    panel.dataset.events +
    "?after=" + encodeURIComponent(panel.dataset.cursor || "0") +
    "&unfinished=" + encodeURIComponent(panel.dataset.unfinished || "");
  const source = new EventSource(url);
  source.addEventListener("line", (event) => {
    const line = JSON.parse(event.data);
    const old = existing(line.id);
    if (old) old.replaceWith(render(line));
    else thread.append(render(line));
    if (empty) empty.hidden = true;
  });
  source.addEventListener("status", (event) => {
    const line = JSON.parse(event.data);
    const old = existing(line.id);
    if (old) old.replaceWith(render(line));
  });
  source.addEventListener("hold", (event) => {
    const hold = JSON.parse(event.data);
    if (holder) {
      holder.textContent = hold.text;
      holder.dataset.held = hold.mine ? "mine" : hold.held ? "other" : "none";
    }
  });
})();
