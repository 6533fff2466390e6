// Progressive enhancement only: every page works without it.
// Copy buttons, and live figures from the server-sent event stream.
(function () {
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var source = document.getElementById(button.getAttribute("data-copy"));
      var status = document.getElementById(button.getAttribute("data-copy") + "-status");
      var text = source ? source.textContent : "";
      var done = function () { if (status) status.textContent = "Copied."; };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () {});
      } else {
        var area = document.createElement("textarea");
        area.value = text; document.body.appendChild(area); area.select();
        try { document.execCommand("copy"); done(); } catch (e) {}
        document.body.removeChild(area);
      }
    });
  });
  var live = document.querySelectorAll("[data-live]");
  if (!live.length || !window.EventSource) return;
  var source = new EventSource("/dashboard/events");
  source.addEventListener("update", function (event) {
    var data = JSON.parse(event.data);
    live.forEach(function (element) {
      var value = data[element.getAttribute("data-live")];
      if (value === undefined || String(value) === element.textContent) return;
      element.textContent = String(value);
      element.classList.remove("live-flash"); void element.offsetWidth;
      element.classList.add("live-flash");
    });
    document.body.setAttribute("data-live-updates", String(
      Number(document.body.getAttribute("data-live-updates") || "0") + 1));
  });
})();
