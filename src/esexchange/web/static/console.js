// esExchange console: small progressive enhancements; every page works without them.
(function () {
  "use strict";
  var lang = document.documentElement.lang || "en";
  // Times come as UTC ISO strings; show them in the viewer's own time zone.
  function localTimes(root) {
    var format = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" });
    root.querySelectorAll("time[datetime]").forEach(function (node) {
      var when = new Date(node.getAttribute("datetime"));
      if (!isNaN(when)) { node.textContent = format.format(when); node.title = node.getAttribute("datetime"); }
    });
  }
  // Forms with data-inplace post in the background and show the answer in place.
  function inPlace(root) {
    root.querySelectorAll("form[data-inplace]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var target = document.querySelector(form.dataset.inplace);
        var button = form.querySelector("button");
        target.textContent = "…";
        button.disabled = true;
        fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin" })
          .then(function (response) { return response.text(); })
          .then(function (html) { target.innerHTML = html; localTimes(target); })
          .catch(function (error) { target.textContent = String(error); })
          .finally(function () { button.disabled = false; });
      });
    });
  }
  // The connection form shows the fields of the chosen authentication and server.
  function switching(form) {
    function update() {
      var auth = (form.querySelector("input[name=auth]:checked") || {}).value;
      var server = (form.querySelector("input[name=server]:checked") || {}).value;
      [["when-user", auth === "user"], ["when-app", auth === "app"],
       ["when-autodiscover", server === "autodiscover"], ["when-url", server === "url"]]
        .forEach(function (pair) {
          form.querySelectorAll("." + pair[0]).forEach(function (block) {
            block.hidden = !pair[1];
            block.querySelectorAll("input").forEach(function (input) { input.disabled = !pair[1]; });
          });
        });
    }
    form.addEventListener("change", update);
    update();
  }
  // Search boxes filter the list they name.
  function filters(root) {
    root.querySelectorAll("input.filter").forEach(function (box) {
      var list = document.querySelector(box.dataset.filter);
      box.addEventListener("input", function () {
        var needle = box.value.toLowerCase();
        Array.prototype.forEach.call(list.options, function (option) {
          option.hidden = needle !== "" && option.textContent.toLowerCase().indexOf(needle) < 0;
        });
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    localTimes(document);
    inPlace(document);
    filters(document);
    document.querySelectorAll("form.connection-form").forEach(switching);
  });
})();
