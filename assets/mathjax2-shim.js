// The widget manager was written for MathJax 2: it typesets widget labels with
// MathJax.Hub.Queue(["Typeset", MathJax.Hub, element]). Sphinx loads MathJax 3, which has no
// Hub, so every label would throw. Whatever object ends up in window.MathJax (Sphinx's config
// object first, then MathJax 3 itself, which replaces it) gets a small Hub that forwards to
// MathJax 3's typesetPromise once MathJax is ready.
(function () {
  "use strict";
  function typeset(element) {
    var mj = current;
    if (!mj || !mj.startup || !mj.startup.promise) {
      pending.push(element);
      return;
    }
    mj.startup.promise
      .then(function () { return mj.typesetPromise(element ? [element] : undefined); })
      .catch(function (err) { console.warn("MathJax could not typeset a widget label", err); });
  }
  var pending = [];
  var hub = {
    Queue: function () {
      for (var i = 0; i < arguments.length; i++) {
        var job = arguments[i];
        if (Array.isArray(job) && job[0] === "Typeset") typeset(job[2]);
      }
    },
  };
  var current = window.MathJax;
  function adopt(value) {
    current = value;
    if (value && typeof value === "object" && !value.Hub) {
      try { value.Hub = hub; } catch (err) { /* frozen object: nothing to attach */ }
    }
    if (value && value.startup && value.startup.promise) {
      var queued = pending.splice(0);
      queued.forEach(typeset);
    }
  }
  adopt(current);
  Object.defineProperty(window, "MathJax", {
    configurable: true,
    get: function () { return current; },
    set: adopt,
  });
  window.addEventListener("load", function () { adopt(current); });
})();
