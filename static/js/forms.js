/* Filing forms (progressive enhancement: without JavaScript every form works the same,
   the server checks everything).
   - The error summary takes the focus, so a screen reader reads every error at once.
   - A file input lists the files chosen (name, type, size) before the form is sent.
   - "Report anonymously" hides, disables and clears the name, telephone and e-mail. */
(function () {
  "use strict";

  var summary = document.querySelector("[data-error-summary]");
  if (summary) {
    summary.focus();
  }

  function size(bytes, kb) {
    return Math.max(1, Math.ceil(bytes / 1024)) + " " + kb;
  }

  function kind(file) {
    var type = (file.type || "").split("/").pop();
    if (!type) {
      var dot = file.name.lastIndexOf(".");
      type = dot >= 0 ? file.name.slice(dot + 1) : "?";
    }
    return type.toUpperCase();
  }

  document.querySelectorAll("input[type=file][data-chosen]").forEach(function (input) {
    var box = document.getElementById(input.getAttribute("data-chosen"));
    if (!box) {
      return;
    }
    input.addEventListener("change", function () {
      while (box.firstChild) {
        box.removeChild(box.firstChild);
      }
      var files = Array.prototype.slice.call(input.files || []);
      box.hidden = files.length === 0;
      if (!files.length) {
        return;
      }
      var heading = document.createElement("p");
      heading.textContent = box.getAttribute("data-heading");
      box.appendChild(heading);
      var list = document.createElement("ul");
      files.forEach(function (file) {
        var item = document.createElement("li");
        item.textContent = file.name + " (" + kind(file) + ", " + size(file.size, box.getAttribute("data-kb")) + ")";
        list.appendChild(item);
      });
      box.appendChild(list);
    });
  });

  document.querySelectorAll("input[data-anonymous]").forEach(function (box) {
    var part = document.getElementById(box.getAttribute("data-anonymous"));
    if (!part) {
      return;
    }
    var fields = part.querySelectorAll("input, select, textarea");
    function apply() {
      var anonymous = box.checked;
      part.hidden = anonymous;
      fields.forEach(function (field) {
        field.disabled = anonymous;
        if (anonymous) {
          field.value = "";
        }
      });
    }
    box.addEventListener("change", apply);
    apply();
  });
})();
