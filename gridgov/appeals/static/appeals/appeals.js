/* gridgov appeals pages: "use my location" fills hidden latitude/longitude fields. */
(function () {
  function locate(button) {
    var form = button.closest("form");
    var out = form.querySelector("[data-locate-status]");
    var lat = form.querySelector("input[name=latitude]");
    var lng = form.querySelector("input[name=longitude]");
    if (!navigator.geolocation) {
      if (out) out.textContent = button.dataset.unsupported;
      return;
    }
    if (out) out.textContent = button.dataset.waiting;
    button.disabled = true;
    navigator.geolocation.getCurrentPosition(function (pos) {
      lat.value = pos.coords.latitude.toFixed(6);
      lng.value = pos.coords.longitude.toFixed(6);
      if (out) out.textContent = button.dataset.done + " (" + lat.value + ", " + lng.value + ")";
      button.disabled = false;
      lat.dispatchEvent(new Event("change", { bubbles: true }));
    }, function () {
      if (out) out.textContent = button.dataset.failed;
      button.disabled = false;
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  }
  document.addEventListener("click", function (ev) {
    var button = ev.target.closest("[data-locate]");
    if (button) { ev.preventDefault(); locate(button); }
  });
  /* Bulk dispatch: "select all" checkbox. */
  document.addEventListener("change", function (ev) {
    if (ev.target.matches("[data-check-all]")) {
      document.querySelectorAll("input[name=ids]").forEach(function (box) {
        box.checked = ev.target.checked;
      });
    }
  });
})();
