/* Live inbox: listens to the page's server-sent events (bot/web/clinician/inbox_list.py).
   "ticket" adds a new ticket's row (HTML rendered and escaped by the server's own template) to
   the "New since you opened this page" list; "counts" replaces the counts table and sets the
   page title's emergency warning. Without JavaScript the page reloads itself (<noscript>). */
(function () {
  "use strict";
  var root = document.getElementById("inbox");
  if (!root || !root.dataset.liveUrl || !window.EventSource) {
    return;
  }
  var newSection = document.getElementById("new-section");
  var newList = document.getElementById("new-tickets");
  var announcer = document.getElementById("live-announcer");
  var status = document.getElementById("live-status");
  var initialPrefix = root.dataset.titlePrefix || "";
  var baseTitle = document.title.indexOf(initialPrefix) === 0
    ? document.title.slice(initialPrefix.length)
    : document.title;
  var orderHint = status.firstChild ? status.firstChild.textContent.trim() : "";

  function say(text) {
    status.textContent = orderHint + " " + text;
  }

  function fromHtml(html) {
    var template = document.createElement("template");
    template.innerHTML = html;
    return template.content.firstElementChild;
  }

  function shown(id) {
    var cards = document.querySelectorAll(".ticket-card");
    for (var i = 0; i < cards.length; i += 1) {
      if (cards[i].dataset.ticketId === id) {
        return true;
      }
    }
    return false;
  }

  var source = new EventSource(root.dataset.liveUrl);

  source.addEventListener("open", function () {
    say("Live: new tickets appear here without reloading.");
  });

  source.addEventListener("ticket", function (event) {
    var data = JSON.parse(event.data);
    if (shown(data.id)) {
      return;
    }
    var row = fromHtml(data.html);
    row.classList.add("is-new");
    if (data.severity === "emergency") {
      row.classList.add("is-new-emergency");
    }
    newList.insertBefore(row, newList.firstChild);
    newSection.hidden = false;
    announcer.textContent = data.announcement;
  });

  source.addEventListener("counts", function (event) {
    var data = JSON.parse(event.data);
    var counts = document.getElementById("counts");
    if (counts) {
      counts.replaceWith(fromHtml(data.html));
    }
    document.title = data.title_prefix + baseTitle;
    document.body.classList.toggle("has-open-emergency", data.open_emergencies > 0);
  });

  source.addEventListener("error", function () {
    if (source.readyState === EventSource.CLOSED) {
      say("Live updates stopped. Reload the page (you may need to sign in again).");
    } else {
      say("Reconnecting for live updates…");
    }
  });
})();
