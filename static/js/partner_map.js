// The partners map (partners/nearby.html): Leaflet with the configured tile server, a marker for the spa and one
// per practice with a known ZIP code. The data comes from the page's JSON block, so no inline script is needed.
(function () {
  "use strict";
  var element = document.getElementById("partner-map");
  var data = document.getElementById("map-config");
  if (!element || !data || !window.L) return;
  var config = JSON.parse(data.textContent);
  element.style.height = "420px";
  var map = L.map(element, { scrollWheelZoom: false });
  L.tileLayer(config.tiles, { attribution: config.attribution, maxZoom: 18 }).addTo(map);
  var bounds = [];
  config.markers.forEach(function (marker) {
    var spa = marker.kind === "spa";
    var dot = L.circleMarker([marker.lat, marker.lng], {
      radius: spa ? 10 : 7,
      color: spa ? "#2a7a78" : "#6c4a8c",
      fillOpacity: 0.8,
    }).addTo(map);
    var label = document.createElement(spa ? "strong" : "a");
    label.textContent = marker.name + (marker.stage ? " · " + marker.stage : "");
    if (!spa) label.href = marker.url;
    dot.bindPopup(label);
    bounds.push([marker.lat, marker.lng]);
  });
  if (bounds.length > 1) map.fitBounds(bounds, { padding: [30, 30], maxZoom: 14 });
  else if (bounds.length === 1) map.setView(bounds[0], 12);
})();
