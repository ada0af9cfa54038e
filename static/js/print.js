/* Print buttons (progressive enhancement: without JavaScript, use the browser's print menu). */
document.querySelectorAll("[data-print]").forEach(function (button) {
  button.addEventListener("click", function () { window.print(); });
});
