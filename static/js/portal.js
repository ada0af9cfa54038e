/* Progressive enhancement only: every page works without JavaScript.
   Filter panels (<details data-open-wide>) are folded on a phone and opened on a wide screen,
   where there is room for them beside or above the results. */
(function () {
  var wide = window.matchMedia("(min-width: 760px)");
  function unfold() {
    if (!wide.matches) { return; }
    document.querySelectorAll("details[data-open-wide]").forEach(function (panel) {
      if (!panel.hasAttribute("data-touched")) { panel.open = true; }
    });
  }
  document.querySelectorAll("details[data-open-wide] > summary").forEach(function (summary) {
    summary.addEventListener("click", function () { summary.parentNode.setAttribute("data-touched", ""); });
  });
  unfold();
  if (wide.addEventListener) { wide.addEventListener("change", unfold); }
}());
