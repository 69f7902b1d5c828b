// feedserver's pages work without this file; it adds copy buttons and the builder's live update.
(function () {
  "use strict";

  function setUpCopy(root) {
    root.querySelectorAll("button.copy[data-copy]").forEach(function (button) {
      if (!navigator.clipboard) return; // no Clipboard API (plain http): the field stays selectable
      button.hidden = false;
      button.addEventListener("click", function () {
        var input = document.getElementById(button.dataset.copy);
        var status = button.parentElement.querySelector(".copied");
        navigator.clipboard.writeText(input.value).then(function () {
          status.textContent = "Copied";
        }, function () {
          input.select();
          status.textContent = "Press Ctrl+C or ⌘C to copy";
        });
      });
    });
    root.querySelectorAll(".copyable input[readonly]").forEach(function (input) {
      input.addEventListener("focus", function () { input.select(); });
    });
  }

  function setUpBuilder(form) {
    var result = document.getElementById("result");
    var timer = null;
    var latest = 0;

    function query() {
      var params = new URLSearchParams();
      new FormData(form).forEach(function (value, name) {
        if (String(value).trim() !== "") params.append(name, value);
      });
      return params.toString();
    }

    function update() {
      var qs = query();
      var ticket = ++latest;
      result.setAttribute("aria-busy", "true");
      fetch(form.dataset.live + (qs ? "?" + qs : ""), { headers: { Accept: "text/html" } })
        .then(function (response) { return response.text(); })
        .then(function (html) {
          if (ticket !== latest) return; // an answer to an older state of the form
          result.innerHTML = html;
          result.removeAttribute("aria-busy");
          setUpCopy(result);
          history.replaceState(null, "", form.action + (qs ? "?" + qs : ""));
        })
        .catch(function () { result.removeAttribute("aria-busy"); });
    }

    function later() {
      clearTimeout(timer);
      timer = setTimeout(update, 250);
    }

    form.addEventListener("input", later);
    form.addEventListener("change", later);
  }

  document.addEventListener("DOMContentLoaded", function () {
    setUpCopy(document);
    var form = document.querySelector("form.builder[data-live]");
    if (form) setUpBuilder(form);
  });
})();
