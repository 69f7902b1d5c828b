// feedserver's pages work without this file; it adds copy buttons, the builder's live update and
// the calendar page's in-place navigation and arrow keys.
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


  // The calendar page (/calendar). Without this script its filters are a GET form and its
  // months and days are links. With it, they change the page in place: the server's HTML of the
  // new URL is fetched, its regions marked data-swap replace ours, and the URL (after the
  // server's redirect to the canonical form) goes to the history, so Back and Forward work.
  // The month grid becomes one tab stop (a roving tabindex, as in the WAI-ARIA date picker):
  // arrows move by a day or a week, Home/End to the week's ends, Page Up/Down by a month,
  // Enter or Space shows the focused day.
  function setUpCalendar(form) {
    var status = document.getElementById("calendar-status");
    var latest = 0;
    var timer = null;
    var shown = here();

    function here() { return location.href.split("#")[0]; }
    function grid() { return document.querySelector(".month-grid"); }
    function selectedDay() { return grid().querySelector('a[aria-current="date"]'); }
    function listed() { return getComputedStyle(grid().tHead).display === "none"; } // phone: a list
    function visible(element) { return element.getClientRects().length > 0; }
    function dayLink(date) {
      var cell = grid().querySelector('td[data-date="' + date + '"]');
      return cell && cell.querySelector("a");
    }

    // Dates as YYYY-MM-DD, computed in UTC so that no time zone shift can move them.
    function parse(date) { var p = date.split("-"); return new Date(Date.UTC(+p[0], p[1] - 1, +p[2])); }
    function format(d) { return d.toISOString().slice(0, 10); }
    function addDays(date, n) { var d = parse(date); d.setUTCDate(d.getUTCDate() + n); return format(d); }
    function addMonths(date, n) {
      var d = parse(date);
      var first = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + n, 1));
      var last = new Date(Date.UTC(first.getUTCFullYear(), first.getUTCMonth() + 1, 0)).getUTCDate();
      first.setUTCDate(Math.min(d.getUTCDate(), last));
      return format(first);
    }

    // The day link to focus for ``date``: its own when it is shown, else the nearest shown one
    // in the direction of travel (on a phone, days without events are not listed).
    function nearest(date, direction) {
      var own = dayLink(date);
      if (own && visible(own)) return own;
      var links = Array.prototype.filter.call(grid().querySelectorAll("td[data-date] a"), visible);
      var after = links.filter(function (a) { return a.parentElement.dataset.date >= date; });
      var before = links.filter(function (a) { return a.parentElement.dataset.date <= date; });
      return (direction < 0 ? before.pop() || after[0] : after[0] || before.pop()) || selectedDay();
    }

    function activate(link) {
      grid().querySelectorAll("td[data-date] a").forEach(function (a) { a.tabIndex = -1; });
      link.tabIndex = 0;
      link.focus();
    }

    function setUpGrid() {
      var table = grid();
      var keys = document.getElementById("grid-keys");
      table.setAttribute("role", "grid");
      if (keys) { keys.hidden = false; table.setAttribute("aria-describedby", keys.id); }
      var current = selectedDay() || table.querySelector("td[data-date] a");
      table.querySelectorAll("td[data-date] a").forEach(function (a) { a.tabIndex = a === current ? 0 : -1; });
    }

    function announce(text) {
      status.textContent = "";
      setTimeout(function () { status.textContent = text; }, 100); // a change, even if the same text
    }

    function heading(id) {
      var element = document.getElementById(id);
      element.tabIndex = -1; // focusable from a script, not a tab stop
      return element;
    }

    function swap(fresh, fromForm) {
      document.title = fresh.title;
      fresh.querySelectorAll("[data-swap]").forEach(function (node) {
        var old = document.getElementById(node.id);
        if (old) old.replaceWith(document.adoptNode(node));
      });
      var other = fresh.querySelector("form.calendar-filters");
      other.querySelectorAll("[data-sync]").forEach(function (node) {
        var mine = document.getElementById(node.id);
        if (mine) mine.textContent = node.textContent;
      });
      // month, day and the filters the form does not show travel as hidden fields
      var submit = form.querySelector("button[type=submit]");
      form.querySelectorAll("input[type=hidden]").forEach(function (input) { input.remove(); });
      other.querySelectorAll("input[type=hidden]").forEach(function (input) {
        form.insertBefore(document.adoptNode(input), submit);
      });
      if (fromForm) return; // the form says what the person chose; the server's spelling may differ
      Array.prototype.forEach.call(other.elements, function (control) {
        var mine = control.id && document.getElementById(control.id);
        if (!mine || control.type === "hidden") return;
        if (control.type === "checkbox") mine.checked = control.checked;
        else mine.value = control.value;
      });
    }

    // Load ``url`` in place. how.push: a new history entry (else the entry is already there);
    // how.fromForm: the form started it; how.focus: what to focus afterwards (default: the
    // focused element's successor, or the selected day, or the month's heading).
    function load(url, how) {
      var ticket = ++latest;
      var before = document.activeElement;
      var view = document.getElementById("calendar-view");
      view.setAttribute("aria-busy", "true");
      fetch(url, { headers: { Accept: "text/html" } })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.text().then(function (html) { return { url: response.url, html: html }; });
        })
        .then(function (answer) {
          if (ticket !== latest) return; // an answer to an older request
          var fresh = new DOMParser().parseFromString(answer.html, "text/html");
          if (!fresh.getElementById("calendar-view")) throw new Error("not a calendar page");
          var inGrid = before && before.closest && before.closest(".month-grid");
          swap(fresh, how.fromForm);
          shown = answer.url.split("#")[0];
          if (shown !== here()) history[how.push ? "pushState" : "replaceState"](null, "", shown);
          setUpGrid();
          var target = how.focus ? how.focus() : null;
          if (!target && before && !document.contains(before)) {
            target = (before.id && document.getElementById(before.id)) ||
              (inGrid ? selectedDay() : heading("month-heading"));
          }
          if (target && target.closest(".month-grid")) activate(target);
          else if (target) target.focus();
          announce(document.getElementById("calendar-view").dataset.announce);
        })
        .catch(function () {
          // whatever went wrong, the page itself can say it: go there
          if (ticket === latest) location[how.push ? "assign" : "replace"](url);
        });
    }

    function submitForm() {
      clearTimeout(timer);
      var query = new URLSearchParams(new FormData(form)).toString();
      load(form.action + "?" + query, { push: true, fromForm: true });
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      submitForm();
    });
    form.addEventListener("change", function () {
      clearTimeout(timer);
      timer = setTimeout(submitForm, 150); // several quick changes, one request
    });

    document.addEventListener("click", function (event) {
      var link = event.target.closest && event.target.closest("#calendar-view a[data-nav]");
      if (!link || event.defaultPrevented || event.button !== 0) return;
      if (event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return; // a new tab
      event.preventDefault();
      var day = link.parentElement.dataset.date;
      load(link.href, {
        push: true,
        focus: function () {
          if (!day) return null; // a month link: the new one takes the focus (same id)
          if (listed()) return heading("day-heading"); // the events are further down
          return selectedDay();
        }
      });
    });

    document.addEventListener("keydown", function (event) {
      var link = event.target.closest && event.target.closest(".month-grid td[data-date] a");
      if (!link || event.altKey || event.ctrlKey || event.metaKey) return;
      var cell = link.parentElement;
      var date = cell.dataset.date;
      var row = Array.prototype.filter.call(cell.parentElement.cells, function (c) { return c.dataset.date; });
      var target, direction;
      switch (event.key) {
        case "ArrowLeft": target = addDays(date, -1); direction = -1; break;
        case "ArrowRight": target = addDays(date, 1); direction = 1; break;
        case "ArrowUp": target = addDays(date, -7); direction = -1; break;
        case "ArrowDown": target = addDays(date, 7); direction = 1; break;
        case "Home": target = row[0].dataset.date; direction = -1; break;
        case "End": target = row[row.length - 1].dataset.date; direction = 1; break;
        case "PageUp": target = addMonths(date, -1); direction = -1; break;
        case "PageDown": target = addMonths(date, 1); direction = 1; break;
        case " ": case "Enter": event.preventDefault(); link.click(); return;
        default: return;
      }
      event.preventDefault();
      if (listed() && (event.key.indexOf("Arrow") === 0)) {
        // a list of the days with events: the next listed day, else the next month's
        var links = Array.prototype.filter.call(grid().querySelectorAll("td[data-date] a"), visible);
        var next = links[links.indexOf(link) + direction];
        if (next) { activate(next); return; }
        var ends = grid().querySelectorAll("td[data-date]");
        target = addDays(ends[direction < 0 ? 0 : ends.length - 1].dataset.date, direction);
      }
      if (dayLink(target)) { activate(nearest(target, direction)); return; }
      var month = document.getElementById(direction < 0 ? "month-prev" : "month-next");
      load(month.href, { push: true, focus: function () { return nearest(target, direction); } });
    });

    window.addEventListener("popstate", function () {
      if (here() !== shown) load(here(), { push: false }); // not for a #fragment of this page
    });

    setUpGrid();
  }

  document.addEventListener("DOMContentLoaded", function () {
    setUpCopy(document);
    var form = document.querySelector("form.builder[data-live]");
    if (form) setUpBuilder(form);
    var filters = document.querySelector("form.calendar-filters");
    if (filters && window.fetch && window.DOMParser && history.pushState) setUpCalendar(filters);
  });
})();
