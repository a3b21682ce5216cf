// The storefront's only script, loaded from our own origin (the Content-Security-Policy allows no inline code).
// Every page works without it: it folds the filters on phones and swaps broken pictures for their placeholder.
(function () {
  "use strict";
  function markFailed(img) {
    img.classList.add("failed");
  }
  // Capture phase: image errors do not bubble. Registered in <head>, before any picture starts loading.
  document.addEventListener(
    "error",
    function (event) {
      if (event.target && event.target.tagName === "IMG") markFailed(event.target);
    },
    true
  );
  document.addEventListener("DOMContentLoaded", function () {
    // Pictures that failed before this script ran (a cached error, say).
    document.querySelectorAll(".media img").forEach(function (img) {
      if (img.complete && img.naturalWidth === 0 && img.getAttribute("src")) markFailed(img);
    });
    // Phones start with the filters folded; without JavaScript they simply stay open.
    if (window.matchMedia("(max-width: 720px)").matches) {
      document.querySelectorAll(".facets-box").forEach(function (box) {
        box.open = false;
      });
    }
  });
})();
