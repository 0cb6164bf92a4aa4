/* The household's dashboard: devices, today's plan against prices and PV, events, savings, and the buttons
 * a person clicks (commit the proposal, start now, postpone, change the objective, set an appliance's operating
 * conditions). Talks only to /api. */
(function () {
  "use strict";

  var TOKEN_KEY = "flexcem-cem-token";
  var REFRESH_MS = 5000;
  var state = {
    currency: "", proposalId: null, timer: null, token: null, objectiveChosen: false, devicesKey: null, now: null,
    conditionsKey: null,
  };
  /* The kinds that take the household's operating conditions (JWG1110), with the settings each takes. */
  var CONDITION_KINDS = {
    water_heater: [
      { name: "set_point_c", label: "Set point [°C]", type: "number" },
      { name: "level_percent", label: "Level [%]", type: "number" },
    ],
    air_conditioner: [
      { name: "on", label: "On", type: "checkbox" },
      { name: "mode", label: "Mode", options: ["cool", "heat", "dry", "fan", "auto"] },
      { name: "fan", label: "Wind", options: ["auto", "low", "medium", "high"] },
      { name: "set_point_c", label: "Set point [°C]", type: "number" },
    ],
  };

  function $(id) {
    return document.getElementById(id);
  }

  function token() {
    try {
      return window.localStorage.getItem(TOKEN_KEY) || state.token;
    } catch (e) {
      return state.token; // storage disabled: the token lasts for this page only
    }
  }

  function errorText(body, status) {
    if (body && Array.isArray(body.detail)) {
      return body.detail
        .map(function (d) {
          var loc = (d.loc || []).filter(function (part) {
            return part !== "body" && part !== "path" && part !== "query";
          });
          var where = loc.join(".");
          var msg = String(d.msg);
          return where && msg.indexOf(where) !== 0 ? where + ": " + msg : msg; // the API may name it already
        })
        .join("; ");
    }
    if (body && body.detail) return String(body.detail);
    return "HTTP " + status;
  }

  function api(method, path, body) {
    var headers = { Accept: "application/json" };
    var t = token();
    if (t) headers.Authorization = "Bearer " + t;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return fetch("/api" + path, {
      method: method,
      headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(function (response) {
      if (response.status === 401) {
        // only when refused with the token in use now: an answer to a request sent before the user typed the
        // token (the first refresh at page load) must not hide the dashboard the token has just opened
        if (t === token()) showLogin();
        throw new Error("the access token is missing or wrong");
      }
      return response
        .json()
        .catch(function () {
          return null;
        })
        .then(function (data) {
          if (!response.ok) {
            var error = new Error(errorText(data, response.status));
            error.status = response.status;
            error.detail = data && Array.isArray(data.detail) ? data.detail : [];
            throw error;
          }
          return data;
        });
    });
  }

  function showLogin() {
    $("login").hidden = false;
    $("dashboard").hidden = true;
  }

  function say(id, text, ok) {
    var node = $(id);
    node.textContent = text;
    node.className = "message " + (ok ? "ok" : "error");
  }

  function clock(iso) {
    if (!iso) return "–";
    var d = new Date(iso);
    var today = new Date(state.now || Date.now());
    var hm = FlexCharts.timeLabel(d.getTime(), false);
    return d.toDateString() === today.toDateString() ? hm : FlexCharts.timeLabel(d.getTime(), true);
  }

  function money(value) {
    if (value === null || value === undefined) return "–";
    if (Math.abs(value) < 0.005) value = 0;
    return value.toFixed(2) + " " + state.currency;
  }

  function cell(row, text, cls) {
    var td = document.createElement("td");
    if (cls) td.className = cls;
    if (text instanceof Node) td.appendChild(text);
    else td.textContent = text;
    row.appendChild(td);
    return td;
  }

  function button(label, onClick, cls) {
    var b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    if (cls) b.className = cls;
    b.addEventListener("click", function () {
      b.disabled = true;
      Promise.resolve(onClick()).finally(function () {
        b.disabled = false;
      });
    });
    return b;
  }

  function act(deviceId, path, body, label) {
    return api("POST", "/devices/" + encodeURIComponent(deviceId) + path, body)
      .then(function (result) {
        say("device-message", result.message, result.done);
        return refresh();
      })
      .catch(function (error) {
        say("device-message", label + " " + deviceId + ": " + error.message, false);
      });
  }

  function renderDevices(devices) {
    var key = JSON.stringify(devices);
    if (key === state.devicesKey) return; // unchanged: keep the rows (and any button under the pointer)
    state.devicesKey = key;
    var body = $("devices").tBodies[0];
    body.textContent = "";
    devices.forEach(function (d) {
      var row = document.createElement("tr");
      row.dataset.device = d.device_id;
      cell(row, d.device_id + " (" + d.kind.replace(/_/g, " ") + ")");
      var badge = document.createElement("span");
      var details = d.details || {};
      var st = d.held_until
        ? "held"
        : d.status
        ? d.status.state
        : details.mode || (details.running === undefined ? (d.job ? d.job.phase : "registered") : details.running ? "running" : "idle");
      badge.className = "badge " + st;
      badge.textContent = st.replace(/_/g, " ");
      cell(row, badge).className = "state";
      var job = d.job;
      var start = job && (job.confirmed_start || job.planned_start); // what the device will do
      cell(row, job && job.started_at ? "started " + clock(job.started_at) : clock(start)).className = "planned";
      var power = d.status
        ? d.status.power_w
        : details.power_w !== undefined
        ? details.power_w
        : details.generated_power_w !== undefined
        ? -details.generated_power_w
        : null;
      cell(row, power === null ? "–" : power.toFixed(0), "num");
      var buttons = document.createElement("div");
      buttons.className = "row";
      if (d.actions.indexOf("start_now") >= 0) {
        buttons.appendChild(
          button("Start now", function () {
            return act(d.device_id, "/start-now", undefined, "start now");
          })
        );
      }
      if (d.actions.indexOf("postpone") >= 0) {
        buttons.appendChild(
          button("Postpone 1 h", function () {
            return act(d.device_id, "/postpone", { by: "PT1H" }, "postpone");
          })
        );
      }
      if (d.actions.indexOf("dont_run") >= 0) {
        buttons.appendChild(
          button("Don't run", function () {
            return act(d.device_id, "/override", { mode: "dont_run" }, "don't run");
          })
        );
      }
      if (d.actions.indexOf("release") >= 0) {
        buttons.appendChild(
          button("Plan again", function () {
            return act(d.device_id, "/override", { mode: "release" }, "release");
          })
        );
      }
      cell(row, buttons);
      body.appendChild(row);
    });
  }

  /* ---- operating conditions (JWG1110): one form per water heater and air conditioner ---- */

  function localInput(iso) {
    if (!iso) return "";
    var d = new Date(iso);
    function two(n) {
      return (n < 10 ? "0" : "") + n;
    }
    return d.getFullYear() + "-" + two(d.getMonth() + 1) + "-" + two(d.getDate()) + "T" +
      two(d.getHours()) + ":" + two(d.getMinutes());
  }

  function conditionsText(kind, c) {
    if (!c) return "none";
    var s = c.settings;
    var parts = kind === "water_heater"
      ? [s.set_point_c + " °C", "level " + s.level_percent + " %"]
      : [s.on ? "on" : "off", s.mode, "wind " + s.fan, s.set_point_c + " °C"];
    if (c.desired_start) parts.push("start after " + clock(c.desired_start));
    if (c.desired_finish) parts.push("finish by " + clock(c.desired_finish));
    if (c.weekly_profile) parts.push("with a weekly profile");
    return parts.join(", ");
  }

  function fillConditions(form, c) {
    var s = c ? c.settings : {};
    CONDITION_KINDS[form.dataset.kind].forEach(function (f) {
      var input = form.elements[f.name];
      if (f.type === "checkbox") input.checked = s[f.name] === undefined ? true : s[f.name];
      else if (f.options) input.value = s[f.name] || f.options[0];
      else input.value = s[f.name] === undefined ? "" : s[f.name];
    });
    form.elements.desired_start.value = localInput(c && c.desired_start);
    form.elements.desired_finish.value = localInput(c && c.desired_finish);
  }

  function conditionsBody(form) {
    var settings = {};
    CONDITION_KINDS[form.dataset.kind].forEach(function (f) {
      var input = form.elements[f.name];
      if (f.type === "checkbox") settings[f.name] = input.checked;
      else if (f.type === "number") {
        if (input.value !== "") settings[f.name] = Number(input.value);
      } else settings[f.name] = input.value;
    });
    var body = { settings: settings };
    ["desired_start", "desired_finish"].forEach(function (name) {
      var value = form.elements[name].value; // local time of the browser, sent with its offset (UTC)
      if (value) body[name] = new Date(value).toISOString();
    });
    if (form.current && form.current.weekly_profile) body.weekly_profile = form.current.weekly_profile; // kept
    return body;
  }

  function markField(form, detail) {
    Array.prototype.forEach.call(form.elements, function (input) {
      input.removeAttribute("aria-invalid");
    });
    (detail || []).forEach(function (d) {
      var loc = (d.loc || []).map(String);
      var name = loc[loc.length - 1];
      var input = name && form.elements[name];
      if (input && input.setAttribute) input.setAttribute("aria-invalid", "true");
    });
  }

  function showConditions(form, current) {
    form.current = current;
    form.querySelector(".current").textContent = "Now: " + conditionsText(form.dataset.kind, current);
    var key = JSON.stringify(current);
    if (!form.dirty && key !== form.shownKey) fillConditions(form, current); // keep what the person is typing
    form.shownKey = key;
  }

  function loadConditions(form) {
    return api("GET", "/devices/" + encodeURIComponent(form.dataset.device) + "/conditions")
      .catch(function (error) {
        if (error.status === 404) return null; // none set
        throw error;
      })
      .then(function (current) {
        showConditions(form, current);
      })
      .catch(function (error) {
        say(form.message.id, "cannot read the conditions: " + error.message, false);
      });
  }

  function saveConditions(form, method, body, done) {
    var deviceId = form.dataset.device;
    return api(method, "/devices/" + encodeURIComponent(deviceId) + "/conditions", body)
      .then(function (result) {
        markField(form, []);
        form.dirty = false;
        form.shownKey = null;
        showConditions(form, result);
        say(form.message.id, done + ": the CEM plans again.", true);
        return refresh();
      })
      .catch(function (error) {
        markField(form, error.detail);
        say(form.message.id, "Not saved: " + error.message, false);
      });
  }

  function conditionsForm(d, index) {
    var form = document.createElement("form");
    form.className = "conditions";
    form.noValidate = true; // the CEM judges the values and names the field it refuses
    form.dataset.device = d.device_id;
    form.dataset.kind = d.kind;
    var title = document.createElement("h3");
    title.textContent = d.device_id + " (" + d.kind.replace(/_/g, " ") + ")";
    form.appendChild(title);
    var current = document.createElement("p");
    current.className = "current";
    current.textContent = "Now: –";
    form.appendChild(current);

    function field(row, name, label, input) {
      input.name = name;
      input.id = "conditions-" + index + "-" + name;
      var l = document.createElement("label");
      l.htmlFor = input.id;
      l.textContent = label;
      row.appendChild(l);
      row.appendChild(input);
    }

    var settingsRow = document.createElement("div");
    settingsRow.className = "row";
    CONDITION_KINDS[d.kind].forEach(function (f) {
      var input;
      if (f.options) {
        input = document.createElement("select");
        f.options.forEach(function (o) {
          var option = document.createElement("option");
          option.value = o;
          option.textContent = o;
          input.appendChild(option);
        });
      } else {
        input = document.createElement("input");
        input.type = f.type;
        if (f.type === "number") input.step = "any";
      }
      field(settingsRow, f.name, f.label, input);
    });
    form.appendChild(settingsRow);
    var timesRow = document.createElement("div");
    timesRow.className = "row";
    [["desired_start", "Start after"], ["desired_finish", "Finish by"]].forEach(function (t) {
      var input = document.createElement("input");
      input.type = "datetime-local";
      field(timesRow, t[0], t[1], input);
    });
    form.appendChild(timesRow);
    var buttons = document.createElement("div");
    buttons.className = "row";
    var save = document.createElement("button");
    save.type = "submit";
    save.className = "primary";
    save.textContent = "Save conditions";
    buttons.appendChild(save);
    buttons.appendChild(
      button("Clear conditions", function () {
        return saveConditions(form, "DELETE", undefined, "Conditions of " + d.device_id + " cleared");
      })
    );
    form.appendChild(buttons);
    form.message = document.createElement("p");
    form.message.id = "conditions-" + index + "-message";
    form.message.className = "message";
    form.message.setAttribute("role", "status");
    form.appendChild(form.message);

    form.addEventListener("input", function () {
      form.dirty = true;
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      save.disabled = true;
      saveConditions(form, "PUT", conditionsBody(form), "Conditions of " + d.device_id + " saved").finally(
        function () {
          save.disabled = false;
        }
      );
    });
    return form;
  }

  function renderConditions(devices) {
    var appliances = devices.filter(function (d) {
      return CONDITION_KINDS.hasOwnProperty(d.kind);
    });
    var key = JSON.stringify(appliances.map(function (d) { return [d.device_id, d.kind]; }));
    var box = $("conditions");
    if (key !== state.conditionsKey) {
      state.conditionsKey = key; // built once per set of appliances: typing survives the refreshes
      box.textContent = "";
      appliances.forEach(function (d, i) {
        box.appendChild(conditionsForm(d, i));
      });
      $("conditions-empty").hidden = appliances.length > 0;
    }
    return Promise.all(Array.prototype.map.call(box.querySelectorAll("form.conditions"), loadConditions));
  }

  function slotSeries(starts, values) {
    return starts.map(function (s, i) {
      return [s, values[i]];
    });
  }

  function renderPlan(plan) {
    var svg = $("plan-chart");
    if (!plan) {
      FlexCharts.lineChart(svg, [], { empty: "no plan yet" });
      return;
    }
    var series = [{ name: "site", points: slotSeries(plan.slot_starts, plan.site_power_w), step: true, color: "#1d2330" }];
    plan.devices.forEach(function (d) {
      if (d.power_w.some(function (p) { return Math.abs(p) > 0.5; })) {
        series.push({ name: d.device_id, points: slotSeries(plan.slot_starts, d.power_w), step: true });
      }
    });
    if (plan.pv_forecast.length) {
      series.push({
        name: "PV forecast",
        step: true,
        color: "#e3a008",
        points: plan.pv_forecast.map(function (p) { return [p.start, p.value]; }),
      });
    }
    series.push({
      name: "price",
      axis: "right",
      step: true,
      color: "#d62728",
      dash: "6 3",
      points: slotSeries(plan.slot_starts, plan.price_per_kwh),
    });
    FlexCharts.lineChart(svg, series, {
      yLabel: "power",
      unit: "W",
      rightLabel: "price",
      rightUnit: plan.currency + "/kWh",
      now: state.now || Date.now(),
    });
    $("plan-violations").textContent = plan.violations.length ? "Not met: " + plan.violations.join("; ") : "";
  }

  function renderProposal(proposal) {
    var text = $("proposal-text");
    var commit = $("commit-button");
    if (proposal.pending) {
      state.proposalId = proposal.proposal_id;
      text.textContent = "Proposal " + proposal.proposal_id + " of " + clock(proposal.proposed_at) +
        " waits for your commit: nothing is sent to the devices before it.";
      commit.hidden = false;
    } else {
      state.proposalId = null;
      commit.hidden = true;
      text.textContent = proposal.committed_at
        ? "Proposal " + proposal.proposal_id + " committed at " + clock(proposal.committed_at) + "."
        : "The CEM carries its plans out as it makes them.";
    }
  }

  function renderCost(cost) {
    state.currency = cost.currency || state.currency;
    $("plan-cost").textContent = money(cost.plan_total_cost);
    $("plan-saving").textContent = money(cost.saving);
    $("saving-basis").textContent = cost.saving_basis;
    var body = $("costs").tBodies[0];
    body.textContent = "";
    cost.devices.forEach(function (d) {
      var row = document.createElement("tr");
      cell(row, d.device_id);
      cell(row, money(d.planned_cost), "num");
      cell(row, money(d.uncontrolled_cost), "num");
      cell(row, money(d.saving), "num");
      body.appendChild(row);
    });
  }

  function renderEvents(page) {
    var list = $("events");
    list.textContent = "";
    page.items.forEach(function (item) {
      var li = document.createElement("li");
      var time = document.createElement("time");
      time.dateTime = item.at;
      time.textContent = clock(item.at);
      li.appendChild(time);
      li.appendChild(document.createTextNode(item.text));
      list.appendChild(li);
    });
  }

  function refresh() {
    return Promise.all([
      api("GET", "/summary"),
      api("GET", "/devices"),
      api("GET", "/proposal"),
      api("GET", "/plan").catch(function (error) {
        if (error.status === 404) return null;
        throw error;
      }),
      api("GET", "/cost"),
      api("GET", "/events?limit=50"),
    ])
      .then(function (all) {
        var summary = all[0];
        state.now = Date.parse(summary.now); // the CEM's clock (a simulated home runs ahead of the browser's)
        $("cem-address").textContent = summary.address;
        $("cem-time").textContent = clock(summary.now);
        $("cem-zone").textContent = summary.timezone;
        if (!state.objectiveChosen) $("objective").value = summary.objective; // keep what the person picked
        state.currency = summary.currency || "";
        renderCost(all[4]);
        renderDevices(all[1]);
        renderConditions(all[1]);
        renderProposal(all[2]);
        renderPlan(all[3]);
        renderEvents(all[5]);
        document.body.dataset.loaded = "true";
        if ($("proposal-message").textContent.indexOf("cannot read the CEM") === 0) {
          say("proposal-message", "", true); // readable again
        }
      })
      .catch(function (error) {
        say("proposal-message", "cannot read the CEM: " + error.message, false);
      });
  }

  $("commit-button").addEventListener("click", function () {
    if (!state.proposalId) return;
    var id = state.proposalId;
    $("commit-button").disabled = true;
    api("POST", "/proposal/commit", { proposal_id: id })
      .then(function (result) {
        say("proposal-message", "Committed " + result.proposal_id + ": the devices have their start times.", true);
        return refresh();
      })
      .catch(function (error) {
        say("proposal-message", "Commit failed: " + error.message, false);
        return refresh();
      })
      .finally(function () {
        $("commit-button").disabled = false;
      });
  });

  $("objective").addEventListener("change", function () {
    state.objectiveChosen = true;
  });

  $("objective-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var objective = $("objective").value;
    api("PUT", "/preferences", { objective: objective })
      .then(function (prefs) {
        state.objectiveChosen = false;
        say("objective-message", "Plans now aim at " + prefs.objective.replace(/_/g, " ") + ".", true);
        return refresh();
      })
      .catch(function (error) {
        say("objective-message", error.message, false);
      });
  });

  $("login-form").addEventListener("submit", function (event) {
    event.preventDefault();
    state.token = $("token-input").value;
    try {
      window.localStorage.setItem(TOKEN_KEY, state.token);
    } catch (e) {
      /* storage disabled: state.token serves this page */
    }
    $("login").hidden = true;
    $("dashboard").hidden = false;
    refresh();
  });

  refresh();
  state.timer = window.setInterval(refresh, REFRESH_MS);
})();
