/* Draws grids from GeoJSON registered as an ECharts map (no tiles, nothing from a CDN). */
(function () {
  "use strict";
  var box = document.getElementById("grid-map");
  var source = document.getElementById("grid-geojson");
  if (!box || !source || typeof echarts === "undefined") { return; }
  var geojson = JSON.parse(source.textContent);
  if (!geojson || !geojson.features || !geojson.features.length) { return; }
  var palette = ["#c8102e", "#e07b39", "#d4a72c", "#5b9a45", "#2f8f83", "#3a78b5", "#6a5bb5",
    "#a3478f", "#8c6d46", "#4f6d7a", "#b5543a", "#7a9a2f", "#2f6f9a", "#9a2f5b", "#5b5b9a",
    "#3f8f5f", "#c2604a", "#6f8fbf"];
  var communities = [];
  geojson.features.forEach(function (f) {
    if (communities.indexOf(f.properties.community) < 0) { communities.push(f.properties.community); }
  });
  var legend = document.getElementById("grid-legend");
  if (legend && communities.length > 1) {
    communities.forEach(function (code, i) {
      var f = geojson.features.filter(function (x) { return x.properties.community === code; })[0];
      var item = document.createElement("span");
      item.className = "legend-item";
      var chip = document.createElement("i");
      chip.style.background = palette[i % palette.length];
      item.appendChild(chip);
      item.appendChild(document.createTextNode(f.properties.community_name));
      legend.appendChild(item);
    });
  }
  var data = geojson.features.map(function (f) {
    var colour = palette[communities.indexOf(f.properties.community) % palette.length];
    return { name: f.properties.name, label_text: f.properties.label,
      community_name: f.properties.community_name, level: f.properties.level,
      itemStyle: { areaColor: colour, opacity: 0.85 } };
  });
  var narrow = box.clientWidth < 600;  // a phone: a squarer box, labels only on tap
  if (narrow) { box.style.height = Math.max(320, Math.round(box.clientWidth * 0.95)) + "px"; box.style.minHeight = "0"; }
  echarts.registerMap("gridgov-grids", geojson);
  var chart = echarts.init(box, null, { renderer: "canvas" });
  var single = box.dataset.single === "1";
  chart.on("finished", function () { box.dataset.rendered = "1"; });
  chart.setOption({
    animation: false,
    tooltip: { trigger: "item", formatter: function (p) {
      var d = p.data || {};
      return (d.label_text || p.name) + "<br>" + p.name + (d.community_name ? "<br>" + d.community_name : "");
    } },
    series: [{
      type: "map", map: "gridgov-grids", roam: true, selectedMode: false,
      aspectScale: 0.82, layoutCenter: ["50%", "50%"], layoutSize: "95%",
      itemStyle: { borderColor: "#ffffff", borderWidth: 1 },
      emphasis: { label: { show: true, color: "#111", formatter: function (p) {
        return (p.data && p.data.label_text) || p.name; } },
        itemStyle: { areaColor: "#ffd666" } },
      label: { show: single || !narrow, fontSize: single ? 14 : 10, color: "#1f2329", formatter: function (p) {
        if (single) { return (p.data && p.data.label_text) || p.name; }
        var cut = p.name.indexOf("-");  // the grid number after the community code
        return cut < 0 ? p.name : p.name.slice(cut + 1);
      } },
      data: data
    }]
  });
  box.dataset.drawn = "1";
  if (!single && box.dataset.detailUrl) {
    chart.on("click", function (p) {
      if (p.name) { window.location.href = box.dataset.detailUrl.replace("__code__", encodeURIComponent(p.name)); }
    });
  }
  window.addEventListener("resize", function () { chart.resize(); });
})();
