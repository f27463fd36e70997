// FLEP audit explorer: the verify buttons. No library; every server string is set as text, never as HTML.
"use strict";

function setVerdict(artifactId, ok) {
  document.querySelectorAll('[data-artifact="' + artifactId + '"][data-ok]').forEach(function (el) {
    el.dataset.ok = ok ? "true" : "false";
    if (el.classList.contains("badge")) { el.textContent = ok ? "verified" : "MISMATCH"; }
  });
  // A graph box sums up several artifacts and more checks than one artifact's: a failure turns it red, a pass
  // leaves it as the page's verification drew it.
  if (!ok) {
    document.querySelectorAll('[data-covers~="' + artifactId + '"]').forEach(function (el) {
      el.dataset.ok = "false";
      if (el.classList.contains("badge")) { el.textContent = "MISMATCH"; }
    });
  }
}

function showChecks(output, result) {
  output.replaceChildren();
  var head = document.createElement("div");
  head.className = result.ok ? "ok-text" : "bad-text";
  head.textContent = result.target + ": " + (result.ok ? "verified" : "MISMATCH") + " (" + result.checks.length + " checks)";
  var list = document.createElement("ul");
  result.checks.forEach(function (c) {
    var item = document.createElement("li");
    item.className = c.ok ? "ok" : "bad";
    item.dataset.testid = "verify-check";
    item.textContent = (c.ok ? "ok " : "MISMATCH ") + c.subject + ", " + c.check + ": " + c.detail;
    list.appendChild(item);
  });
  output.append(head, list);
  output.hidden = false;
}

document.addEventListener("submit", async function (event) {
  var form = event.target;
  if (!form.classList.contains("verify")) { return; }
  event.preventDefault();
  var button = form.querySelector("button");
  var output = form.querySelector("output");
  var label = button.textContent;
  button.disabled = true;
  button.textContent = "verifying…";
  try {
    var response = await fetch(form.action, { method: "POST", headers: { Accept: "application/json" } });
    var result = await response.json();
    if (!response.ok) { throw new Error(result.error || response.statusText); }
    var byArtifact = {};
    result.checks.forEach(function (c) {
      if (c.artifact_id !== null) { byArtifact[c.artifact_id] = (byArtifact[c.artifact_id] !== false) && c.ok; }
    });
    Object.keys(byArtifact).forEach(function (id) { setVerdict(id, byArtifact[id]); });
    var round = form.action.match(/\/verify\/round\/(\d+)$/);
    if (round) {
      document.querySelectorAll('.badge[data-round="' + round[1] + '"]').forEach(function (el) {
        el.dataset.ok = result.ok ? "true" : "false";
        el.textContent = result.ok ? "verified" : "MISMATCH";
      });
    }
    showChecks(output, result);
  } catch (error) {
    output.replaceChildren();
    output.className = "verify-result bad-text";
    output.textContent = "verify failed: " + error.message;
    output.hidden = false;
  } finally {
    button.disabled = false;
    button.textContent = label;
    form.dataset.done = "true";
  }
});
