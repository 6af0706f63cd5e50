// The wizard's model step: the pricing advisor's advice as the brand types
// (W1). Optional: without it the advice shows once the step is saved. The
// form's data-advice URL answers {"advice": {field: message}} for the form
// as typed; each [data-advice-for=field] element shows its field's advice.
(function () {
  var form = document.querySelector("form[data-advice]");
  if (!form || !window.fetch || !window.URLSearchParams) return;
  var timer = null, seq = 0;
  function show(advice) {
    document.querySelectorAll("[data-advice-for]").forEach(function (el) {
      var msg = advice[el.getAttribute("data-advice-for")];
      el.textContent = msg ? "Advice: " + msg : "";
      el.hidden = !msg;
    });
  }
  function ask() {
    var mine = ++seq;
    var q = new URLSearchParams(new FormData(form)).toString();
    fetch(form.getAttribute("data-advice") + "?" + q, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) { if (body && mine === seq) show(body.advice || {}); })
      .catch(function () {});
  }
  form.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(ask, 300);
  });
})();
