// The widget manager finds its lazily loaded chunks and icon fonts relative to the module
// path '@jupyter-widgets/html-manager/dist'. Point that at the copy this site serves, so no
// request goes to a CDN.
(function () {
  "use strict";
  var src = document.currentScript.src;
  var base = src.substring(0, src.lastIndexOf("/") + 1);
  window.require.config({
    paths: { "@jupyter-widgets/html-manager/dist": base + "vendor/html-manager" },
  });
})();
