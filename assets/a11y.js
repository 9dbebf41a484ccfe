// Accessibility repairs the page's libraries leave to us.
// * Demo sliders: ipywidgets draws each control as a noUiSlider handle (role="slider") with no
//   name, and a selection slider announces the index of its position ("3") rather than the
//   value its readout shows ("45"). Each control of a course demo carries its label as plain
//   text in its tooltip (see diffrn/demos/core.py); it becomes the handle's
//   aria-label, and the readout becomes its aria-valuetext. Widgets render after the page loads
//   and a slider rebuilds its handle when it changes, so the repairs run on every mutation.
// * Some of the theme's controls have names that leave out the text they show (WCAG 2.5.3,
//   label in name): the search button is labelled "Search" and shows "Search Ctrl+K", the code
//   toggles are labelled "Toggle hidden content" and show "Show code cell source". Such a control
//   loses its aria-label, so its name is the text it shows. Icons in labelled controls are
//   hidden: the theme switch ("Color mode") holds three icons titled "Light", "Dark", "System
//   Settings", text the name would leave out.
(function () {
  "use strict";

  function set(element, attribute, value) {
    if (value && element.getAttribute(attribute) !== value) element.setAttribute(attribute, value);
  }

  // ipywidgets puts a control's tooltip on its (hidden, empty) description label as its title.
  function name(slider) {
    var label = slider.querySelector(":scope > .widget-label");
    var title = (label && label.getAttribute("title")) || slider.getAttribute("title") || "";
    return title === "null" ? "" : title.trim();
  }

  function repair() {
    document.querySelectorAll(".widget-slider").forEach(function (slider) {
      var handle = slider.querySelector('.noUi-handle[role="slider"]');
      if (!handle) return;
      set(handle, "aria-label", name(slider));
      var readout = slider.querySelector(".widget-readout");
      if (readout && readout.offsetParent !== null) set(handle, "aria-valuetext", readout.textContent.trim());
    });
    document.querySelectorAll("button[aria-label], summary[aria-label], a[aria-label]").forEach(function (control) {
      // Icons inside a labelled control are decoration (the label says what it does), and
      // their titles ("Light", "Dark") would otherwise count as text the name leaves out.
      // Font Awesome turns each <i> into an <svg> with a <title>, which is removed for the same reason.
      control.querySelectorAll("i, svg").forEach(function (icon) {
        set(icon, "aria-hidden", "true");
        var title = icon.querySelector("title");
        if (title) {
          title.remove();
          icon.removeAttribute("aria-labelledby");
        }
      });
      var shown = control.innerText.replace(/\s+/g, " ").trim();
      if (shown && control.getAttribute("aria-label").toLowerCase().indexOf(shown.toLowerCase()) < 0) {
        control.removeAttribute("aria-label");
      }
    });
  }

  var queued = false;
  function schedule() {
    if (queued) return;
    queued = true;
    Promise.resolve().then(function () { queued = false; repair(); });
  }

  function start() {
    repair();
    new MutationObserver(schedule).observe(document.body, {
      subtree: true, childList: true, characterData: true,
      attributes: true, attributeFilter: ["aria-valuetext", "aria-label", "title"],
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
