/* Batch screening: follow the progress of a file until its results are ready, then reload
   (progressive enhancement: without JavaScript the page refreshes itself every 3 seconds). */
(function () {
  var page = document.querySelector(".screen-batch[data-progress-url]");
  if (!page || ["queued", "running"].indexOf(page.dataset.status) < 0) { return; }
  var bar = document.getElementById("screen-progress");
  var text = document.getElementById("screen-progress-text");
  function poll() {
    fetch(page.dataset.progressUrl, {credentials: "same-origin", cache: "no-store"})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        if (data.status !== "queued" && data.status !== "running") { window.location.reload(); return; }
        bar.max = data.total; bar.value = data.processed; bar.textContent = data.percent + "%";
        text.textContent = text.dataset.template.replace("{done}", data.processed)
          .replace("{total}", data.total).replace("{percent}", data.percent);
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 1000);
})();
