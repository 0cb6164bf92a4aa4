/* The grid operator's dashboard: presence, areas and the traffic light, groups, active signals with their
 * responses, aggregated load, an emergency form. Talks only to this server's /api (bearer token typed in,
 * or passed as #token=… in the address); no external resources. Refreshes every few seconds.
 */
(function () {
  "use strict";

  var REFRESH_MS = 3000;
  var token = "";
  var timer = null;
  var serverNow = Date.now(); // the server's clock at the latest refresh [ms]

  function $(id) { return document.getElementById(id); }

  function say(text, kind) {
    var node = $("message");
    node.textContent = text || "";
    node.className = "message" + (kind ? " " + kind : "");
  }

  function cell(row, content, className) {
    var td = document.createElement("td");
    if (className) td.className = className;
    if (content instanceof Node) td.appendChild(content); else td.textContent = content == null ? "" : String(content);
    row.appendChild(td);
    return td;
  }

  function badge(text, kind) {
    var span = document.createElement("span");
    span.className = "badge " + (kind || text);
    span.textContent = text;
    return span;
  }

  function time(iso) {
    if (!iso) return "";
    var d = new Date(iso);
    return d.toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }

  function api(path, options) {
    options = options || {};
    var headers = { "Accept": "application/json" };
    if (token) headers["Authorization"] = "Bearer " + token;
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(path, {
      method: options.method || "GET",
      headers: headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    }).then(function (response) {
      return response.text().then(function (text) {
        var data = text ? JSON.parse(text) : null;
        if (!response.ok) {
          var error = new Error((data && data.error) || response.statusText);
          error.status = response.status;
          error.field = data && data.field;
          throw error;
        }
        return data;
      });
    });
  }

  function fail(error) {
    if (error.status === 401) say("Type a valid token above (" + error.message + ").", "error");
    else if (error.status === 403) say("Not allowed: " + error.message, "error");
    else say((error.field ? error.field + ": " : "") + error.message, "error");
  }

  function fill(tbody, rows, build) {
    tbody.textContent = "";
    rows.forEach(function (item) {
      var row = document.createElement("tr");
      build(row, item);
      tbody.appendChild(row);
    });
  }

  function options(select, values, keepFirst) {
    var current = select.value;
    while (select.options.length > (keepFirst ? 1 : 0)) select.remove(select.options.length - 1);
    values.forEach(function (pair) {
      var option = document.createElement("option");
      option.value = pair[0];
      option.textContent = pair[1];
      select.appendChild(option);
    });
    if (Array.prototype.some.call(select.options, function (o) { return o.value === current; })) select.value = current;
  }

  // -- panels ------------------------------------------------------------------------------------------------

  function showPresence(page) {
    var online = page.items.filter(function (e) { return e.online; }).length;
    $("presence-count").textContent = online + " of " + page.items.length + " online";
    fill($("presence").tBodies[0], page.items, function (row, e) {
      row.dataset.address = e.address;
      cell(row, e.address);
      cell(row, e.groups.map(function (g) { return g.split("/").pop(); }).join(", "));
      var state = e.online == null ? "unknown" : e.online ? "online" : "offline";
      cell(row, badge(state)).className = "presence-state";
      cell(row, time(e.since));
    });
    return page.items;
  }

  function showAreas(areas) {
    fill($("areas").tBodies[0], areas, function (row, area) {
      row.dataset.area = area.id;
      cell(row, area.id);
      cell(row, area.members.length, "num");
      cell(row, badge(area.state)).className = "light-state";
      var buttons = document.createElement("span");
      buttons.className = "row";
      ["green", "yellow", "red"].forEach(function (state) {
        var button = document.createElement("button");
        button.type = "button";
        button.className = "light " + state;
        button.dataset.state = state;
        button.textContent = state;
        button.disabled = state === area.state;
        button.addEventListener("click", function () { setLight(area.id, state); });
        buttons.appendChild(button);
      });
      cell(row, buttons);
    });
  }

  function showGroups(page) {
    fill($("groups").tBodies[0], page.items, function (row, g) {
      cell(row, g.address);
      cell(row, g.area || "");
      cell(row, g.members.map(function (m) { return m.split("/").pop(); }).join(", "));
    });
  }

  function answerSummary(signal) {
    var counts = { "on-time": 0, late: 0, refused: 0 };
    signal.answers.forEach(function (a) { counts[a.status] = (counts[a.status] || 0) + 1; });
    var missing = {};
    Object.keys(signal.missing).forEach(function (k) { signal.missing[k].forEach(function (m) { missing[m] = true; }); });
    var box = document.createElement("div");
    var line = document.createElement("span");
    line.className = "row";
    Object.keys(counts).forEach(function (k) { if (counts[k]) line.appendChild(badge(counts[k] + " " + k, k)); });
    var nMissing = Object.keys(missing).length;
    if (nMissing) line.appendChild(badge(nMissing + " missing", "missing"));
    var awaited = Object.keys(signal.deadlines).some(function (k) { return !(k in signal.missing); });
    if (!signal.answers.length && !nMissing) line.appendChild(document.createTextNode(
      awaited && signal.expected.length ? "awaiting " + signal.expected.length : "no answer expected"));
    box.appendChild(line);
    var list = document.createElement("ul");
    list.className = "answers";
    signal.answers.forEach(function (a) {
      var item = document.createElement("li");
      var body = a.body || {};
      var what = body.status || body.phase || a.kind;
      var extra = body.expected_change_w != null ? " " + Math.round(body.expected_change_w) + " W" :
        body.achieved_change_w != null ? " achieved " + Math.round(body.achieved_change_w) + " W" : "";
      item.textContent = a.responder.split("/").pop() + ": " + a.kind + " " + what + extra +
        " (" + a.status + ", " + time(a.at) + ")" + (a.reason ? " — " + a.reason : "");
      list.appendChild(item);
    });
    box.appendChild(list);
    return box;
  }

  function showSignals(page) {
    fill($("signals").tBodies[0], page.items, function (row, s) {
      row.dataset.program = s.program;
      row.dataset.signal = s.signal_id;
      cell(row, s.program);
      var label = s.signal_id;
      if (s.body && s.body.state) label += " (" + s.body.area + ": " + s.body.state + ")";
      if (s.body && s.body.level) label += " (" + s.body.level + ")";
      if (s.body && s.body.action) label += " (" + s.body.action + " " + (s.body.amount_w != null ? s.body.amount_w + " W" : s.body.amount_percent + " %") + ")";
      cell(row, label);
      cell(row, s.area || s.recipient);
      cell(row, time(s.sent_at));
      cell(row, badge(s.status));
      cell(row, answerSummary(s)).className = "answers-cell";
      var actions = document.createElement("span");
      if (s.program === "emergency" || s.program === "load-management") {
        var end = document.createElement("button");
        end.type = "button";
        end.textContent = "End";
        end.addEventListener("click", function () {
          var path = s.program === "emergency" ? "/api/emergencies/" : "/api/load-management/";
          api(path + encodeURIComponent(s.signal_id) + "/end", { method: "POST" })
            .then(function () { say("Ended " + s.signal_id + ".", "ok"); refresh(); }, fail);
        });
        actions.appendChild(end);
      }
      cell(row, actions);
    });
    if (!page.items.length) {
      var row = document.createElement("tr");
      cell(row, "No signal in force.", "muted").colSpan = 7;
      $("signals").tBodies[0].appendChild(row);
    }
  }

  function showLoad(view, hours) {
    $("load-latest").textContent = view.latest_power_w == null ? "(no readings)" :
      "now " + (view.latest_power_w / 1000).toFixed(2) + " kW from " + view.meters.length + " meter(s)";
    var series = [{ name: "load " + (view.target.split("/").pop()), step: true,
      points: view.points.map(function (p) { return [p.at, p.power_w / 1000]; }) }];
    if (window.FlexCharts) {
      window.FlexCharts.lineChart($("load-chart"), series, { yLabel: "load", unit: "kW", now: serverNow });
    }
  }

  function showMessages(page) {
    var list = $("messages");
    list.textContent = "";
    page.items.forEach(function (m) {
      var item = document.createElement("li");
      var when = document.createElement("time");
      when.textContent = time(m.at);
      item.appendChild(when);
      item.appendChild(document.createTextNode(m.kind + " " + m.sender.split("/").pop() + " → " +
        m.recipient.split("/").pop() + " (" + m.status + ")"));
      list.appendChild(item);
    });
  }

  // -- actions -----------------------------------------------------------------------------------------------

  function setLight(area, state) {
    api("/api/traffic-light", { method: "POST", body: { area: area, state: state } }).then(function () {
      say("Traffic light of " + area + " set to " + state + ".", "ok");
      refresh();
    }, fail);
  }

  function declareEmergency(event) {
    event.preventDefault();
    var minutes = $("emergency-minutes").value;
    var body = { target: $("emergency-target").value, level: $("emergency-level").value };
    if (minutes) body.duration_s = Number(minutes) * 60;
    if ($("emergency-reason").value) body.reason = $("emergency-reason").value;
    api("/api/emergencies", { method: "POST", body: body }).then(function (signal) {
      say("Emergency " + signal.signal_id + " declared for " + body.target + ".", "ok");
      refresh();
    }, fail);
  }

  // -- refresh -----------------------------------------------------------------------------------------------

  function refresh() {
    if (timer) clearTimeout(timer);
    timer = setTimeout(refresh, REFRESH_MS);
    // the server's clock (a simulated grid runs ahead of the browser's), then everything for that instant
    return api("/api/health").then(function (health) {
      serverNow = Date.parse(health.now) || Date.now();
      return load();
    }, function () { return load(); });
  }

  function load() {
    var hours = Number($("load-hours").value);
    var end = new Date(serverNow + 60e3);
    var start = new Date(end.getTime() - hours * 3600e3);
    var target = $("load-target").value;
    var loadPath = "/api/load?start=" + encodeURIComponent(start.toISOString()) + "&end=" +
      encodeURIComponent(end.toISOString()) + "&resolution_s=" + (hours > 24 ? 3600 : 900) +
      (target ? "&target=" + encodeURIComponent(target) : "");
    return Promise.all([
      api("/api/endpoints?limit=500"), api("/api/areas"), api("/api/groups?limit=500"),
      api("/api/signals?active=true&limit=100"), api(loadPath),
    ]).then(function (r) {
      var endpoints = showPresence(r[0]);
      showAreas(r[1]);
      showGroups(r[2]);
      showSignals(r[3]);
      showLoad(r[4], hours);
      var targets = r[1].map(function (a) { return [a.id, "area " + a.id]; })
        .concat(r[2].items.map(function (g) { return [g.address, "group " + g.address.split("/").pop()]; }))
        .concat(endpoints.map(function (e) { return [e.address, e.address]; }));
      options($("load-target"), targets, true);
      var domain = ($("server-address").textContent.split("/")[0] || "grid");
      options($("emergency-target"), [[domain + "/all", "everyone"]].concat(targets), false);
      if ($("message").className.indexOf("error") >= 0) say("");
      return api("/api/messages?limit=30&newest=true");
    }).then(function (page) {
      showMessages(page);
    }).catch(fail);
  }

  function useToken(value) {
    token = (value || "").trim();
    try { sessionStorage.setItem("flexcem-grid-token", token); } catch (e) { /* private mode */ }
    api("/api/me").then(function (me) {
      $("whoami").textContent = me.name + " (" + me.role + ")";
      say("");
      refresh();
    }, fail);
  }

  document.addEventListener("DOMContentLoaded", function () {
    api("/api/health").then(function (h) { $("server-address").textContent = h.address; }, function () {});
    $("token-form").addEventListener("submit", function (event) {
      event.preventDefault();
      useToken($("token").value);
    });
    $("emergency-form").addEventListener("submit", declareEmergency);
    $("load-target").addEventListener("change", refresh);
    $("load-hours").addEventListener("change", refresh);
    var fromHash = /(?:^#|&)token=([^&]+)/.exec(location.hash);
    var stored = null;
    try { stored = sessionStorage.getItem("flexcem-grid-token"); } catch (e) { /* private mode */ }
    var initial = fromHash ? decodeURIComponent(fromHash[1]) : stored;
    if (initial) {
      $("token").value = initial;
      useToken(initial);
    } else {
      say("Type a token above to see the grid.", "");
    }
  });
})();
