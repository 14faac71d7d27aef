/* Unsent text survives an expired session. The text fields of every POST form (except those
   marked data-no-draft) are copied to sessionStorage as they are typed, keyed by page, form and
   field, and put back when the page is shown again. Sending a form marks its drafts "pending":
   the next page says whether that worked (<body data-drafts="clear">) or not ("keep": the
   sign-in, error and conflict pages). After a sign-in the browser returns to the page of the
   unsent form, where the text is put back. Signing out forgets every draft. sessionStorage lives only as long as the tab. */
(function () {
  "use strict";
  var PREFIX = "meso-draft|";
  var PENDING = "meso-draft-pending";
  var RETURN = "meso-draft-return";
  var FIELDS = "textarea, input[type=text], input[type=search], input[type=email], " +
    "input[type=tel], input[type=number], input[type=url]";
  var store;
  try {
    store = window.sessionStorage;
    store.getItem(PENDING);
  } catch (e) {
    return; // storage disabled: forms work as before, without drafts
  }

  function formKey(form) {
    return PREFIX + window.location.pathname + "|" + (form.getAttribute("action") || "");
  }

  function fieldKey(form, field) {
    return formKey(form) + "|" + (field.name || field.id);
  }

  function forget(prefix) {
    for (var i = store.length - 1; i >= 0; i -= 1) {
      var key = store.key(i);
      if (key && key.indexOf(prefix) === 0) {
        store.removeItem(key);
      }
    }
  }

  function settlePending() {
    var pending = store.getItem(PENDING);
    store.removeItem(PENDING);
    if (document.body.dataset.drafts === "keep") {
      return; // the form was not taken: its drafts stay, and RETURN leads back after sign-in
    }
    if (pending) {
      forget(pending + "|"); // it was taken
    }
    store.removeItem(RETURN);
  }

  function returnAfterSignIn() {
    var next = document.querySelector("input[data-draft-return]");
    var target = store.getItem(RETURN);
    if (next && target && (next.value === "" || next.value === "/clinician")) {
      next.value = target; // the server accepts only inbox pages (routes._safe_next)
    }
  }

  function watch(form) {
    var fields = form.querySelectorAll(FIELDS);
    var restored = false;
    fields.forEach(function (field) {
      var key = fieldKey(form, field);
      var saved = store.getItem(key);
      if (saved && !field.value) {
        field.value = saved;
        restored = true;
      }
      field.addEventListener("input", function () {
        if (field.value) {
          store.setItem(key, field.value);
        } else {
          store.removeItem(key);
        }
      });
    });
    if (restored) {
      var note = document.createElement("p");
      note.className = "notice draft-note";
      note.setAttribute("role", "status");
      note.textContent = "Your unsent text was kept and is back in the form. " +
        "Check it and send it again.";
      form.insertBefore(note, form.firstChild);
    }
    form.addEventListener("submit", function () {
      store.setItem(PENDING, formKey(form));
      store.setItem(RETURN, window.location.pathname);
    });
  }

  function start() {
    settlePending();
    returnAfterSignIn();
    document.querySelectorAll("form").forEach(function (form) {
      var method = (form.getAttribute("method") || "get").toLowerCase();
      var action = form.getAttribute("action") || "";
      if (/\/logout$/.test(action)) {
        form.addEventListener("submit", function () {
          forget(PREFIX);
          store.removeItem(PENDING);
          store.removeItem(RETURN);
        });
      } else if (method === "post" && !form.hasAttribute("data-no-draft")) {
        watch(form);
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
