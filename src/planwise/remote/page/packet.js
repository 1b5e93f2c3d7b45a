"use strict";
// planwise remote questionnaire: builds the form from the JSON above, checks that every
// question is answered, seals the answers with WebCrypto (RSA-OAEP SHA-256 wraps a fresh
// AES-256-GCM key; the request id is the additional data) and shows the sealed text.
// No network, no storage: the page's CSP forbids every fetch, and nothing is written to
// localStorage, sessionStorage, cookies or IndexedDB.
(function () {
  var request = JSON.parse(document.getElementById("planwise-request").textContent);
  var form = JSON.parse(document.getElementById("planwise-form").textContent);
  var questions = document.getElementById("questions");
  var errors = document.getElementById("errors");
  var crisis = document.getElementById("crisis");
  var sealedText = "";

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  form.contacts.forEach(function (c) {
    document.getElementById("crisis-list").appendChild(el("li", {}, c));
  });

  // One fieldset a question; `q` = {id, legend, options, hint}.
  function question(q, parent) {
    var fs = el("fieldset", {id: q.id, "data-required": q.required === false ? "0" : "1"});
    if (q.hidden) { fs.hidden = true; }
    fs.appendChild(el("legend", {}, q.legend));
    if (q.ends) {
      var ends = el("div", {"class": "ends", "aria-hidden": "true"});
      ends.appendChild(el("span", {}, q.ends[0]));
      ends.appendChild(el("span", {}, q.ends[1]));
      fs.appendChild(ends);
      fs.className = "scale";
    }
    var box = el("div", {"class": "options"});
    q.options.forEach(function (o) {
      var label = el("label", {});
      var input = el("input", {type: "radio", name: q.id, value: String(o.value)});
      label.appendChild(input);
      label.appendChild(el("span", {}, o.label));
      box.appendChild(label);
    });
    fs.appendChild(box);
    parent.appendChild(fs);
    return fs;
  }

  form.instruments.forEach(function (inst) {
    var sec = el("section", {"aria-labelledby": "h-" + inst.id});
    sec.appendChild(el("h2", {id: "h-" + inst.id}, inst.title + " (" + inst.name + ")"));
    if (inst.stem) { sec.appendChild(el("p", {}, inst.stem)); }
    inst.items.forEach(function (it) {
      question({id: inst.id + "-" + it.number, legend: it.number + ". " + it.text,
                options: it.options, hidden: it.conditional}, sec);
    });
    questions.appendChild(sec);
  });
  if (form.feedback) {
    var sec = el("section", {"aria-labelledby": "h-feedback"});
    sec.appendChild(el("h2", {id: "h-feedback"}, "Your feedback on our sessions"));
    sec.appendChild(el("p", {}, form.feedback.intro));
    form.feedback.items.forEach(function (it) {
      var opts = [];
      for (var v = 0; v <= 10; v++) {
        opts.push({value: v, label: String(v) + (v === 0 ? " (" + it.low + ")" :
                                                  v === 10 ? " (" + it.high + ")" : "")});
      }
      question({id: "feedback-" + it.id, legend: it.question, options: opts,
                ends: ["0 = " + it.low, "10 = " + it.high]}, sec);
    });
    questions.appendChild(sec);
  }

  function value(id) {
    var checked = document.querySelector("input[name='" + id + "']:checked");
    return checked ? Number(checked.value) : null;
  }

  function atRisk() {
    return form.instruments.some(function (inst) {
      return inst.risk.some(function (r) {
        var v = value(inst.id + "-" + r.item);
        return v !== null && v >= r.at_least;
      });
    });
  }

  // The acuity question of a yes/no screen is asked only after a yes.
  function updateConditional() {
    form.instruments.forEach(function (inst) {
      inst.items.forEach(function (it) {
        if (!it.conditional) { return; }
        var any = inst.items.some(function (o) {
          return !o.conditional && value(inst.id + "-" + o.number) === 1;
        });
        document.getElementById(inst.id + "-" + it.number).hidden = !any;
      });
    });
  }

  document.getElementById("form").addEventListener("change", function (ev) {
    updateConditional();
    var fs = ev.target.closest("fieldset");
    if (fs) { fs.classList.remove("missing"); fs.removeAttribute("aria-invalid"); }
    var show = atRisk();
    if (show && crisis.hidden) { crisis.hidden = false; }
    else if (!show) { crisis.hidden = true; }
  });

  function missing() {
    var out = [];
    document.querySelectorAll("#questions fieldset").forEach(function (fs) {
      if (!fs.hidden && value(fs.id) === null) { out.push(fs); }
    });
    return out;
  }

  function showMissing(list) {
    errors.textContent = "";
    errors.appendChild(el("h2", {}, list.length === 1 ? "1 question has no answer yet" :
                                     list.length + " questions have no answer yet"));
    var ul = el("ul", {});
    list.forEach(function (fs) {
      fs.classList.add("missing");
      fs.setAttribute("aria-invalid", "true");
      var li = el("li", {});
      var a = el("a", {href: "#" + fs.id}, fs.querySelector("legend").textContent);
      a.addEventListener("click", function (e) {
        e.preventDefault();
        fs.querySelector("input").focus();
      });
      li.appendChild(a);
      ul.appendChild(li);
    });
    errors.appendChild(ul);
    errors.hidden = false;
    errors.focus();
  }

  function payload() {
    var d = new Date();
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    var measures = form.instruments.map(function (inst) {
      var answers;
      if (inst.kind === "asq") {
        answers = {};
        inst.items.forEach(function (it) {
          var fs = document.getElementById(inst.id + "-" + it.number);
          if (!fs.hidden) { answers[it.key] = value(fs.id) === 1; }
        });
      } else {
        answers = inst.items.map(function (it) { return value(inst.id + "-" + it.number); });
      }
      return {instrument: inst.id, answers: answers};
    });
    var feedback = null;
    if (form.feedback) {
      feedback = {};
      form.feedback.items.forEach(function (it) { feedback[it.id] = value("feedback-" + it.id); });
    }
    return {v: 1, request: request.request,
            completed: d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()),
            measures: measures, feedback: feedback};
  }

  function b64url(bytes) {
    var s = "";
    var u = new Uint8Array(bytes);
    for (var i = 0; i < u.length; i++) { s += String.fromCharCode(u[i]); }
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function unb64url(text) {
    var s = text.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) { s += "="; }
    var bin = atob(s);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
    return out;
  }

  async function seal(data) {
    var subtle = window.crypto.subtle;
    var enc = new TextEncoder();
    var pub = await subtle.importKey("spki", unb64url(request.public_key),
                                     {name: "RSA-OAEP", hash: "SHA-256"}, false, ["encrypt"]);
    var key = await subtle.generateKey({name: "AES-GCM", length: 256}, true, ["encrypt"]);
    var raw = await subtle.exportKey("raw", key);
    var wrapped = await subtle.encrypt({name: "RSA-OAEP"}, pub, raw);
    var iv = window.crypto.getRandomValues(new Uint8Array(12));
    var sealed = await subtle.encrypt({name: "AES-GCM", iv: iv, tagLength: 128,
                                       additionalData: enc.encode(request.request)},
                                      key, enc.encode(JSON.stringify(data)));
    var envelope = JSON.stringify({v: 1, request: request.request, key: b64url(wrapped),
                                   iv: b64url(iv), data: b64url(sealed)});
    var body = b64url(enc.encode(envelope)).replace(/(.{64})/g, "$1\n").replace(/\n$/, "");
    return "-----BEGIN PLANWISE RESPONSE-----\n" + body + "\n-----END PLANWISE RESPONSE-----\n";
  }

  var status = document.getElementById("status");

  // The key's fingerprint, computed here from the key the answers are sealed to, so the
  // client can compare it with what the practice told them (`planwise keys show`).
  if (window.crypto && window.crypto.subtle) {
    window.crypto.subtle.digest("SHA-256", unb64url(request.public_key)).then(function (h) {
      var hex = Array.prototype.map.call(new Uint8Array(h), function (b) {
        return (b < 16 ? "0" : "") + b.toString(16);
      }).join("");
      document.getElementById("fingerprint").textContent =
        "Your answers are sealed for " + request.practice + " with the key whose " +
        "fingerprint is SHA256 " + hex.replace(/(.{4})(?=.)/g, "$1 ") + ".";
    });
  }

  document.getElementById("form").addEventListener("submit", async function (ev) {
    ev.preventDefault();
    var gaps = missing();
    if (gaps.length) { showMissing(gaps); return; }
    errors.hidden = true;
    if (!window.crypto || !window.crypto.subtle) {
      errors.textContent = "This browser cannot seal the answers here (no WebCrypto). " +
        "Please open the file in an up-to-date browser.";
      errors.hidden = false;
      errors.focus();
      return;
    }
    try {
      sealedText = await seal(payload());
    } catch (e) {
      errors.textContent = "Sealing failed in this browser. Please try an up-to-date browser.";
      errors.hidden = false;
      errors.focus();
      return;
    }
    document.getElementById("sealed").value = sealedText;
    document.getElementById("form").hidden = true;
    document.getElementById("done").hidden = false;
    document.getElementById("done-title").focus();
  });

  document.getElementById("copy").addEventListener("click", async function () {
    var area = document.getElementById("sealed");
    try {
      await navigator.clipboard.writeText(sealedText);
    } catch (e) {
      area.focus();
      area.select();
      if (!document.execCommand("copy")) {
        status.textContent = "Copying is blocked here: select the text and copy it yourself.";
        return;
      }
    }
    status.textContent = "Copied. Paste it into your message to the practice.";
  });

  document.getElementById("download").addEventListener("click", function () {
    var blob = new Blob([sealedText], {type: "text/plain"});
    var a = el("a", {href: URL.createObjectURL(blob),
                     download: "planwise-response-" + request.request + ".txt"});
    document.body.appendChild(a);
    a.click();
    a.remove();
    status.textContent = "Saved as " + a.getAttribute("download") + ".";
  });
})();
