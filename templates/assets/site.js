/* gitbrag: optional enhancements. Every page reads fine without this file; it only
   (1) tells from the user's generated.json whether the report is being updated right now,
   when it was last checked, and, past the stale age, how old it is (a static page cannot
   know "now" when it is read), (2) wires the "Refresh now" button to the refresh hook, and
   (3) searches everyone from any index page (search.json, loaded when the reader first types), (4) lets a report's repositories be sorted
   another way, and (5) copies an embed snippet. No third-party code, no network
   except the hook the operator configured. */
(function () {
  "use strict";

  function ago(seconds) {
    var units = [["year", 31536000], ["month", 2592000], ["day", 86400], ["hour", 3600], ["minute", 60]];
    for (var i = 0; i < units.length; i++) {
      var n = Math.floor(seconds / units[i][1]);
      if (n >= 1) return n + " " + units[i][0] + (n === 1 ? "" : "s");
    }
    return "less than a minute";
  }

  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

  // "12 Mar 2025, 14:05 UTC", as the pages write times (no locale involved).
  function utcTime(ms) {
    var d = new Date(ms);
    function two(n) { return (n < 10 ? "0" : "") + n; }
    return d.getUTCDate() + " " + MONTHS[d.getUTCMonth()] + " " + d.getUTCFullYear() + ", " +
      two(d.getUTCHours()) + ":" + two(d.getUTCMinutes()) + " UTC";
  }

  // A page shows what stays true until its content changes: the window, and the day of the
  // generation that last changed it (so a refresh that finds nothing new leaves it as it
  // is). The user's tiny generated.json, rewritten by every refresh, says when each period
  // was last generated and whether a refresh runs right now: read on every report page, it
  // shows "Updating" in the header, the last check in the footer, and past the stale age
  // how old the report is. When it cannot be read (opened from disk, offline), the age is
  // counted from the end of the page's day: it is never overstated.
  function freshness() {
    var DAY = 86400000;
    document.querySelectorAll("[data-stale-notice]").forEach(function (notice) {
      var dayStart = Date.parse(notice.getAttribute("data-generated-on") + "T00:00:00Z");
      var staleAfter = Number(notice.getAttribute("data-stale-after")) * 1000;
      var updating = document.querySelector("[data-updating-notice]");
      var checked = document.querySelector("[data-checked]");
      function showAge(generated) {
        var age = Date.now() - generated;
        if (isNaN(generated) || !(staleAfter > 0) || age <= staleAfter) return;
        notice.querySelector("[data-age]").textContent = ago(age / 1000);
        notice.hidden = false;
      }
      function fallback() { showAge(dayStart + DAY - 1); }
      fetch(notice.getAttribute("data-freshness"), { cache: "no-cache", credentials: "omit" })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json();
        })
        .then(function (info) {
          var exact = Date.parse(info && info[notice.getAttribute("data-period")]);
          if (info && info.updating === true && updating) {
            updating.hidden = false;  // the new numbers are on their way: no age to tell
            return;
          }
          if (isNaN(exact)) return fallback();
          if (checked) {
            checked.querySelector("[data-checked-at]").textContent = utcTime(exact);
            checked.hidden = false;
          }
          showAge(exact);
        })
        .catch(fallback);
    });
  }

  function refreshButtons() {
    document.querySelectorAll("[data-refresh-url]").forEach(function (box) {
      var button = box.querySelector("button");
      var status = box.querySelector("[role=status]");
      function say(text) { status.textContent = text; }
      box.hidden = false;
      button.addEventListener("click", function () {
        button.disabled = true;
        say("Asking for a refresh…");
        fetch(box.getAttribute("data-refresh-url"), { method: "POST", mode: "cors", credentials: "omit" })
          .then(function (response) {
            if (response.status === 429) {
              var wait = Number(response.headers.get("Retry-After"));
              say("This report was refreshed moments ago. Try again in " +
                (wait > 0 && wait < 60 ? wait + " seconds" : wait >= 60 ? ago(wait) : "a minute") + ".");
              return;
            }
            if (response.status !== 202) throw new Error("HTTP " + response.status);
            return response.json().then(function (body) {
              say(body && body.status === "already_running"
                ? "This report is already being updated. Reload the page in a minute."
                : "Refresh scheduled. Reload the page in a minute to see the new numbers.");
            });
          })
          .catch(function () {
            say("The refresh service could not be reached. Please try again later.");
          })
          .then(function () { button.disabled = false; });
      });
    });
  }

  // The index is pages of people (every one reachable by its page links); the search box
  // finds anyone from any page, from search.json: [login, name, PRs, merged, page] per person,
  // fetched once, when the reader first types. Enter opens the first match; the matches are
  // plain links, reached with Tab. A login's report is at <login, lowercased>/index.html.
  function peopleSearch() {
    var LIMIT = 20;
    document.querySelectorAll("[data-people-search]").forEach(function (box) {
      var input = box.querySelector("input");
      var status = box.querySelector("[aria-live]");
      var list = box.querySelector("ul");
      var people = null;
      var loading = null;
      box.hidden = false;
      function load() {
        if (!loading) {
          loading = fetch(box.getAttribute("data-people-search"), { credentials: "omit" })
            .then(function (response) {
              if (!response.ok) throw new Error("HTTP " + response.status);
              return response.json();
            })
            .then(function (body) {
              people = (body && body.people) || [];
              people.forEach(function (p) { p.push((p[0] + " " + p[1]).toLowerCase()); });
            });
          loading.catch(function () {
            loading = null;
            status.textContent = "The list of people could not be loaded; the page links below still reach everyone.";
          });
        }
        return loading;
      }
      function matches(query) {
        var first = [], rest = [];
        for (var i = 0; i < people.length && first.length < LIMIT; i++) {
          var p = people[i], at = p[5].indexOf(query);
          if (at === 0 || p[1].toLowerCase().indexOf(query) === 0) first.push(p);
          else if (at > 0 && rest.length < LIMIT) rest.push(p);
        }
        return first.concat(rest).slice(0, LIMIT);
      }
      function item(p) {
        var li = document.createElement("li");
        var a = document.createElement("a");
        a.href = p[0].toLowerCase() + "/index.html";
        a.textContent = p[1] || p[0];
        var about = document.createElement("span");
        about.className = "muted small";
        about.textContent = " @" + p[0] + " · " + p[2].toLocaleString("en") + " PRs, " +
          p[3].toLocaleString("en") + " merged";
        li.appendChild(a);
        li.appendChild(about);
        return li;
      }
      function show() {
        var query = input.value.trim().toLowerCase().replace(/^@/, "");
        list.textContent = "";
        if (!query) { list.hidden = true; status.textContent = ""; return; }
        load().then(function () {
          if (input.value.trim().toLowerCase().replace(/^@/, "") !== query) return;
          var found = matches(query);
          found.forEach(function (p) { list.appendChild(item(p)); });
          list.hidden = found.length === 0;
          status.textContent = found.length === 0 ? "Nobody matches that search."
            : found.length === LIMIT ? "The first " + LIMIT + " matches." : found.length + (found.length === 1 ? " match." : " matches.");
        }).catch(function () {});
      }
      input.addEventListener("input", show);
      input.addEventListener("focus", function () { load().catch(function () {}); }, { once: true });
      input.addEventListener("keydown", function (event) {
        if (event.key === "Escape") { input.value = ""; show(); }
        if (event.key === "Enter") {  // the first match (a plain box: no form to submit)
          var first = list.querySelector("a");
          if (first) window.location.href = first.href;
        }
      });
    });
  }

  // The report's repositories come ordered by what the person did (merged pull requests,
  // then lines); the reader may sort them by lines, the stars the repositories gained, or
  // name instead. Every number is already in the page (data-*): no server involved.
  function repoSort() {
    document.querySelectorAll("[data-repo-sort]").forEach(function (box) {
      var list = document.getElementById(box.getAttribute("data-repo-sort"));
      if (!list) return;
      var buttons = box.querySelectorAll("button[data-sort-key]");
      box.hidden = false;
      Array.prototype.forEach.call(buttons, function (button) {
        button.addEventListener("click", function () {
          var key = button.getAttribute("data-sort-key");
          Array.prototype.forEach.call(buttons, function (other) {
            other.setAttribute("aria-pressed", other === button ? "true" : "false");
          });
          var items = Array.prototype.slice.call(list.children);
          items.sort(function (a, b) {
            if (key === "name") return a.getAttribute("data-name").localeCompare(b.getAttribute("data-name"));
            if (key === "rank") return Number(a.getAttribute("data-rank")) - Number(b.getAttribute("data-rank"));
            var order = Number(b.getAttribute("data-" + key)) - Number(a.getAttribute("data-" + key));
            return order || Number(a.getAttribute("data-rank")) - Number(b.getAttribute("data-rank"));
          });
          items.forEach(function (item) { list.appendChild(item); });
        });
      });
    });
  }

  // "Copy" beside each embed snippet. Without script (or clipboard access) the snippet
  // stays plain selectable text, and the button is never shown.
  function copyButtons() {
    if (!navigator.clipboard) return;
    document.querySelectorAll("[data-copy]").forEach(function (button) {
      var source = document.getElementById(button.getAttribute("data-copy"));
      if (!source) return;
      button.hidden = false;
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(source.textContent).then(function () {
          button.textContent = "Copied";
        }, function () {
          button.textContent = "Select and copy";
        }).then(function () {
          setTimeout(function () { button.textContent = "Copy"; }, 2000);
        });
      });
    });
  }

  freshness();
  refreshButtons();
  peopleSearch();
  repoSort();
  copyButtons();
})();
