// The city map: an SVG drawn from the city's center and radius (no tiles), vehicles at their
// positions colored by type with a battery bar, an optional path and a picked position.

const NS = "http://www.w3.org/2000/svg";
const SIZE = 1000;
const KM_PER_DEGREE = 111.32;

function element(name, attributes = {}, parent = null) {
  const node = document.createElementNS(NS, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  if (parent) parent.appendChild(node);
  return node;
}

export class CityMap {
  /**
   * @param svg the <svg> element to draw in
   * @param onSelect called with a vehicle when one is clicked or chosen by keyboard
   * @param onPick called with {latitude, longitude} when the background is clicked (pick mode)
   */
  constructor(svg, { onSelect = null, onPick = null } = {}) {
    this.svg = svg;
    this.onSelect = onSelect;
    this.onPick = onPick;
    this.city = null;
    svg.setAttribute("viewBox", `0 0 ${SIZE} ${SIZE}`);
    svg.addEventListener("click", (event) => {
      if (!this.onPick || !this.city || event.target.closest(".vehicle")) return;
      const point = svg.createSVGPoint();
      point.x = event.clientX;
      point.y = event.clientY;
      const local = point.matrixTransform(svg.getScreenCTM().inverse());
      this.onPick(this.unproject(local.x, local.y));
    });
  }

  /** Frames `city` ({latitude, longitude, radius_km}) and whatever lies outside it in `points`. */
  frame(city, points = []) {
    this.frameAround(city, city, city.radius_km * 1.15, points);
  }

  /**
   * Frames a square of `halfKm` around `center` (a location), widened to hold `points`; `city`
   * is still drawn (its rings and name) where it falls.
   */
  frameAround(city, center, halfKm, points = []) {
    this.city = city;
    this.center = { latitude: center.latitude, longitude: center.longitude };
    const cos = Math.cos((center.latitude * Math.PI) / 180);
    let km = halfKm;
    for (const p of points) {
      const dy = (p.latitude - center.latitude) * KM_PER_DEGREE;
      const dx = (p.longitude - center.longitude) * KM_PER_DEGREE * cos;
      km = Math.max(km, Math.abs(dx) * 1.1, Math.abs(dy) * 1.1);
    }
    this.halfKm = km;
    this.halfLat = km / KM_PER_DEGREE;
    this.halfLon = km / (KM_PER_DEGREE * cos);
  }

  project(location) {
    const x = ((location.longitude - (this.center.longitude - this.halfLon)) / (2 * this.halfLon)) * SIZE;
    const y = (((this.center.latitude + this.halfLat) - location.latitude) / (2 * this.halfLat)) * SIZE;
    return [x, y];
  }

  unproject(x, y) {
    const longitude = this.center.longitude - this.halfLon + (x / SIZE) * 2 * this.halfLon;
    const latitude = this.center.latitude + this.halfLat - (y / SIZE) * 2 * this.halfLat;
    return { latitude: Number(latitude.toFixed(6)), longitude: Number(longitude.toFixed(6)) };
  }

  /** Redraws: vehicles, the selected one's id, a path (locations) and a picked location. */
  draw({ vehicles = [], selectedId = null, path = [], pick = null, label = "" } = {}) {
    const svg = this.svg;
    svg.replaceChildren();
    element("rect", { class: "map-bg", x: 0, y: 0, width: SIZE, height: SIZE }, svg);
    if (!this.city) return;
    const [cx, cy] = this.project(this.city);
    const radius = (this.city.radius_km / this.halfKm) * (SIZE / 2);
    for (const fraction of [1, 0.5]) {
      element("circle", { class: "ring", cx, cy, r: radius * fraction }, svg);
    }
    element("line", { class: "axis", x1: cx, y1: 0, x2: cx, y2: SIZE }, svg);
    element("line", { class: "axis", x1: 0, y1: cy, x2: SIZE, y2: cy }, svg);
    const name = element("text", { class: "city-label", x: cx + 10, y: cy - 10 }, svg);
    name.textContent = label || this.city.city;
    // Scale bar: 1 km.
    const oneKm = SIZE / (2 * this.halfKm);
    element("line", { class: "scale", x1: 30, y1: SIZE - 30, x2: 30 + oneKm, y2: SIZE - 30 }, svg);
    const scale = element("text", { class: "scale-label", x: 30, y: SIZE - 40 }, svg);
    scale.textContent = "1 km";

    if (path.length > 1) {
      element("polyline", { class: "path", points: path.map((p) => this.project(p).join(",")).join(" ") }, svg);
    }
    for (const p of path.slice(-1)) {
      const [x, y] = this.project(p);
      element("circle", { class: "path-head", cx: x, cy: y, r: 12 }, svg);
    }
    for (const vehicle of vehicles) this.drawVehicle(vehicle, vehicle.id === selectedId);
    if (pick) {
      const [x, y] = this.project(pick);
      const marker = element("g", { class: "pick", transform: `translate(${x},${y})` }, svg);
      element("circle", { r: 16 }, marker);
      element("line", { x1: -24, y1: 0, x2: 24, y2: 0 }, marker);
      element("line", { x1: 0, y1: -24, x2: 0, y2: 24 }, marker);
    }
  }

  drawVehicle(vehicle, selected) {
    const [x, y] = this.project(vehicle.location);
    const group = element("g", {
      class: `vehicle v-${vehicle.type}${selected ? " selected" : ""}`,
      transform: `translate(${x.toFixed(1)},${y.toFixed(1)})`,
      "data-id": vehicle.id,
    }, this.svg);
    const title = element("title", {}, group);
    title.textContent = `${vehicle.type}, ${vehicle.brand}, ${vehicle.color}, battery ${vehicle.battery}%`;
    if (this.onSelect) {
      group.setAttribute("tabindex", "0");
      group.setAttribute("role", "button");
      group.setAttribute("aria-label", title.textContent);
      group.setAttribute("aria-pressed", selected ? "true" : "false");
      group.addEventListener("click", () => this.onSelect(vehicle));
      group.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          this.onSelect(vehicle);
        }
      });
    }
    if (selected) element("circle", { class: "halo", r: 26 }, group);
    element("circle", { class: "dot", r: 14 }, group);
    element("rect", { class: "battery-bg", x: -16, y: 18, width: 32, height: 6 }, group);
    const level = vehicle.battery < 25 ? "low" : "ok";
    element("rect", { class: `battery ${level}`, x: -16, y: 18, width: (32 * vehicle.battery) / 100, height: 6 }, group);
  }
}

/** The location `meters` away from `from` in direction `bearing` (degrees, 0 = north). */
export function step(from, bearing, meters) {
  const radians = (bearing * Math.PI) / 180;
  const dLat = (meters * Math.cos(radians)) / (KM_PER_DEGREE * 1000);
  const dLon = (meters * Math.sin(radians)) / (KM_PER_DEGREE * 1000 * Math.cos((from.latitude * Math.PI) / 180));
  return {
    latitude: Number((from.latitude + dLat).toFixed(6)),
    longitude: Number((from.longitude + dLon).toFixed(6)),
  };
}
