// MovR for riders and fleet owners: one page over the public JSON-RPC API (docs/API.md).
import { ApiError, newKey, onCall, onSessionExpired, rpc, session, setCity } from "./api.js";
import { CityMap, step } from "./map.js";
import { $, bindForm, describe, el, fillDetails, formatDuration, formatTime, showError } from "./ui.js";

const PAGE = 25;
const HISTORY_PAGE = 5;
const STEP_METERS = 200;

const state = {
  cities: [], city: null, location: null, gatewayRegion: null,
  user: null,
  vehicles: [], cursor: null, sort: { key: null, direction: 1 }, selected: null,
  ride: null, position: null, path: [], timer: null,
  history: { cursors: [null], page: 0 },
  promos: [],
  owned: new Map(), pick: null, ownerPath: [],
};

const map = new CityMap($("map"), { onSelect: (vehicle) => select(vehicle) });
const ownerMap = new CityMap($("owner-map"), {
  onPick: (location) => {
    state.pick = location;
    $("pick-position").value = `${location.latitude.toFixed(5)}, ${location.longitude.toFixed(5)}`;
    drawOwnerMap();
  },
});

// ---- Calls: which region answered, how long it took --------------------------------------

onCall((call) => {
  const where = call.region || (call.gateway ? `gateway ${call.gateway}` : "—");
  const server = call.serverMs === null ? "" : ` (${call.serverMs.toFixed(1)} ms in gateway)`;
  const text = `${call.method} → ${where} · ${call.ms.toFixed(0)} ms${server}${call.ok ? "" : ` · ${call.error}`}`;
  const item = el("li", { text, className: call.ok ? "" : "failed" });
  const list = $("calls");
  list.prepend(item);
  while (list.children.length > 8) list.lastChild.remove();
});

// ---- Navigation --------------------------------------------------------------------------

function show(view) {
  for (const tab of document.querySelectorAll(".tab")) {
    if (tab.dataset.view === view) tab.setAttribute("aria-current", "page");
    else tab.removeAttribute("aria-current");
  }
  for (const section of document.querySelectorAll(".view")) section.hidden = section.id !== `view-${view}`;
  if (view === "history") guarded("history-error", loadHistory);
  if (view === "promos") guarded("promos-error", loadPromos);
  if (view === "owner") {
    drawOwnerMap();
    guarded("owned-error", loadOwned);
  }
}
for (const tab of document.querySelectorAll(".tab")) tab.addEventListener("click", () => show(tab.dataset.view));

/** Runs `task`, showing its error in `errorId`. */
async function guarded(errorId, task) {
  showError(errorId, null);
  try {
    await task();
  } catch (error) {
    showError(errorId, describe(error));
  }
}

// ---- Where am I --------------------------------------------------------------------------

const SOURCES = {
  x_city: "your X-City header", x_place_city: "your X-Place header", x_place_coordinates: "your coordinates",
  user: "your account's city", gateway: "the gateway you reached", param: "your choice",
};

async function locate() {
  const result = await rpc("cities.list", {}, { safe: true, locate: true });
  state.cities = result.cities;
  state.location = result.location;
  state.gatewayRegion = result.gateway_region;
  for (const select of [$("city"), $("register-city")]) {
    const current = select.value;
    select.replaceChildren(...result.cities.map((c) => el("option", { text: `${c.city} (${c.region})`, attrs: { value: c.city } })));
    if (current) select.value = current;
  }
  const located = result.location.city
    || result.cities.find((c) => c.region === result.location.region)?.city
    || result.cities[0].city;
  return located;
}

function describeWhere() {
  const node = $("where");
  const city = cityInfo();
  node.replaceChildren(
    "Showing ", el("strong", { text: city.city }), ` — data in ${city.region}. `,
    `Located by ${SOURCES[state.location.source] || state.location.source}`,
    state.location.city ? ` (${state.location.city}, ${state.location.region})` : ` (region ${state.location.region})`,
    `; answered by the ${state.gatewayRegion} gateway.`,
  );
}

function cityInfo() {
  return state.cities.find((c) => c.city === state.city);
}

async function chooseCity(name) {
  state.city = name;
  setCity(name);
  $("city").value = name;
  $("register-city").value = name;
  $("owner-city").textContent = name;
  describeWhere();
  state.selected = null;
  state.pick = null;
  $("pick-position").value = "";
  renderSelected();
  await guarded("vehicles-error", () => loadVehicles(false));
  if (!$("view-owner").hidden) await guarded("owned-error", loadOwned);
}

$("city").addEventListener("change", () => chooseCity($("city").value));

// ---- Vehicles: map and list --------------------------------------------------------------

async function loadVehicles(more) {
  const params = { city: state.city, limit: PAGE };
  if (more && state.cursor) params.cursor = state.cursor;
  const result = await rpc("vehicles.list", params, { safe: true });
  state.vehicles = more ? state.vehicles.concat(result.vehicles) : result.vehicles;
  state.cursor = result.next_cursor;
  if (state.selected && !state.vehicles.some((v) => v.id === state.selected.id)) state.selected = null;
  renderVehicles();
  renderSelected();
}

function sortedVehicles() {
  const { key, direction } = state.sort;
  if (!key) return state.vehicles;
  return [...state.vehicles].sort((a, b) => {
    const x = a[key];
    const y = b[key];
    return (typeof x === "number" ? x - y : String(x).localeCompare(String(y))) * direction;
  });
}

function renderVehicles() {
  const rows = sortedVehicles().map((vehicle) => {
    const selected = state.selected?.id === vehicle.id;
    const row = el("tr", { className: "clickable", attrs: { "data-id": vehicle.id, tabindex: "0", "aria-selected": String(selected) } }, [
      el("td", {}, [el("span", { className: `swatch v-${vehicle.type}`, attrs: { "aria-hidden": "true" } }), vehicle.type]),
      el("td", { text: vehicle.brand }),
      el("td", { text: vehicle.color }),
      el("td", { text: `${vehicle.battery}%` }),
    ]);
    row.addEventListener("click", () => select(vehicle));
    row.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        select(vehicle);
      }
    });
    return row;
  });
  $("vehicle-rows").replaceChildren(...rows);
  $("vehicle-count").textContent = `(${state.vehicles.length}${state.cursor ? "+" : ""})`;
  $("more-vehicles").hidden = !state.cursor;
  for (const header of document.querySelectorAll("#vehicle-table th")) {
    const key = header.querySelector("button").dataset.sort;
    header.setAttribute("aria-sort", state.sort.key !== key ? "none" : state.sort.direction > 0 ? "ascending" : "descending");
  }
  drawMap();
}

function drawMap() {
  const city = cityInfo();
  if (!city) return;
  if (state.ride) {
    // Riding: the map follows the ride, 1.5 km around where it started (wider as it goes).
    map.frameAround(city, state.path[0], 1.5, state.path);
  } else {
    map.frame(city, state.vehicles.map((v) => v.location));
  }
  map.draw({ vehicles: state.vehicles, selectedId: state.selected?.id, path: state.path });
}

for (const button of document.querySelectorAll("button.sort")) {
  button.addEventListener("click", () => {
    const key = button.dataset.sort;
    state.sort = { key, direction: state.sort.key === key ? -state.sort.direction : 1 };
    renderVehicles();
  });
}
$("more-vehicles").addEventListener("click", () => guarded("vehicles-error", () => loadVehicles(true)));
$("reload-vehicles").addEventListener("click", () => guarded("vehicles-error", () => loadVehicles(false)));

function select(vehicle) {
  state.selected = vehicle;
  showError("start-error", null);
  renderVehicles();
  renderSelected();
}

function renderSelected() {
  const vehicle = state.selected;
  $("selected-none").hidden = Boolean(vehicle);
  $("selected-details").hidden = !vehicle;
  $("start-ride").hidden = !vehicle || Boolean(state.ride);
  $("selected-card").hidden = Boolean(state.ride);
  if (!vehicle) return;
  fillDetails($("selected-details"), [
    ["Type", vehicle.type], ["Brand", vehicle.brand], ["Color", vehicle.color], ["Battery", `${vehicle.battery}%`],
    ["Position", `${vehicle.location.latitude.toFixed(5)}, ${vehicle.location.longitude.toFixed(5)}`],
    ["Id", vehicle.id],
  ]);
}

// ---- Riding ------------------------------------------------------------------------------

let startKey = null;
$("start-ride").addEventListener("click", async () => {
  showError("start-error", null);
  if (!state.user) {
    showError("start-error", "Sign in to start a ride (Account tab).");
    return;
  }
  const vehicle = state.selected;
  const button = $("start-ride");
  button.disabled = true;
  // One key per attempt on this vehicle: a retried request finds the same ride.
  startKey = startKey && startKey.vehicle === vehicle.id ? startKey : { vehicle: vehicle.id, key: newKey() };
  try {
    const result = await rpc("rides.start", { vehicle_id: vehicle.id, idempotency_key: startKey.key }, { safe: true });
    startKey = null;
    $("ride-summary").hidden = true;
    beginRide(result.ride);
    state.selected = null;
    renderSelected();
    await guarded("vehicles-error", () => loadVehicles(false));
  } catch (error) {
    startKey = null;
    showError("start-error", describe(error));
    // Someone else took it (or it is gone): show the list as it is now, keeping the message.
    if (error.reason === "vehicle_unavailable" || error.reason === "vehicle_not_found") {
      await guarded("vehicles-error", () => loadVehicles(false));
    }
  } finally {
    button.disabled = false;
  }
});

function beginRide(ride) {
  state.ride = ride;
  state.position = ride.start_location;
  state.path = [ride.start_location];
  $("ride-panel").hidden = false;
  $("ride-vehicle").textContent = `vehicle ${ride.vehicle_id.slice(0, 8)} in ${ride.city}`;
  showError("ride-error", null);
  tick();
  clearInterval(state.timer);
  state.timer = setInterval(tick, 1000);
  renderSelected();
  drawMap();
}

function tick() {
  if (!state.ride) return;
  const seconds = (Date.now() - new Date(state.ride.start_time).getTime()) / 1000;
  $("ride-elapsed").textContent = formatDuration(seconds);
}

function pathMeters() {
  let meters = 0;
  for (let i = 1; i < state.path.length; i++) {
    const a = state.path[i - 1];
    const b = state.path[i];
    const dy = (b.latitude - a.latitude) * 111320;
    const dx = (b.longitude - a.longitude) * 111320 * Math.cos((a.latitude * Math.PI) / 180);
    meters += Math.hypot(dx, dy);
  }
  return meters;
}

for (const button of document.querySelectorAll(".move button")) {
  button.addEventListener("click", async () => {
    if (!state.ride) return;
    showError("ride-error", null);
    const next = step(state.position, Number(button.dataset.bearing), STEP_METERS);
    button.disabled = true;
    try {
      await rpc("rides.update_location", { ride_id: state.ride.id, location: next }, { safe: true });
      state.position = next;
      state.path.push(next);
      $("ride-distance").textContent = `${Math.round(pathMeters())} m`;
      drawMap();
    } catch (error) {
      showError("ride-error", describe(error));
    } finally {
      button.disabled = false;
    }
  });
}

$("end-ride").addEventListener("click", async () => {
  if (!state.ride) return;
  showError("ride-error", null);
  const button = $("end-ride");
  button.disabled = true;
  try {
    let ride;
    try {
      ride = (await rpc("rides.end", { ride_id: state.ride.id, location: state.position })).ride;
    } catch (error) {
      // An earlier attempt may have ended it (a lost reply): show the ride as it is.
      if (!(error instanceof ApiError) || error.reason !== "ride_already_ended") throw error;
      ride = (await rpc("rides.get", { id: state.ride.id }, { safe: true })).ride;
    }
    finishRide(ride);
    await guarded("vehicles-error", () => loadVehicles(false));
  } catch (error) {
    showError("ride-error", describe(error));
  } finally {
    button.disabled = false;
  }
});

function finishRide(ride) {
  clearInterval(state.timer);
  state.ride = null;
  state.path = [];
  $("ride-panel").hidden = true;
  $("ride-distance").textContent = "0 m";
  const promo = ride.promo_code ? state.promos.find((p) => p.code === ride.promo_code) : null;
  fillDetails($("summary-details"), [
    ["Duration", formatDuration(ride.duration_seconds)],
    ["Fare", `${ride.revenue} ${ride.currency}`],
    ["Promo code", ride.promo_code ? `${ride.promo_code}${promo ? ` (−${promo.percent_off}%)` : ""} applied` : "none"],
    ["City", `${ride.city} (${ride.region})`],
  ]);
  $("ride-summary").hidden = false;
  renderSelected();
  drawMap();
}

async function restoreRide() {
  const result = await rpc("rides.list", { active_only: true, limit: 1 }, { safe: true });
  if (result.rides.length) beginRide(result.rides[0]);
}

// ---- Ride history ------------------------------------------------------------------------

async function loadHistory() {
  if (!state.user) {
    $("history-rows").replaceChildren();
    return;
  }
  const { cursors, page } = state.history;
  const params = { limit: HISTORY_PAGE };
  if (cursors[page]) params.cursor = cursors[page];
  const result = await rpc("rides.list", params, { safe: true });
  cursors.length = page + 1;
  if (result.next_cursor) cursors.push(result.next_cursor);
  $("history-rows").replaceChildren(...result.rides.map((ride) => el("tr", { attrs: { "data-id": ride.id } }, [
    el("td", { text: formatTime(ride.start_time) }),
    el("td", { text: ride.city }),
    el("td", { text: ride.duration_seconds === null ? "—" : formatDuration(ride.duration_seconds) }),
    el("td", { text: ride.revenue === null ? "—" : `${ride.revenue} ${ride.currency}` }),
    el("td", { text: ride.promo_code || "" }),
    el("td", { text: ride.end_time ? "ended" : "riding" }),
  ])));
  if (!result.rides.length) $("history-rows").append(el("tr", {}, [el("td", { text: "No rides yet.", attrs: { colspan: "6" } })]));
  $("history-prev").disabled = page === 0;
  $("history-next").disabled = !result.next_cursor;
  $("history-page").textContent = `page ${page + 1}`;
}
$("history-prev").addEventListener("click", () => {
  state.history.page = Math.max(0, state.history.page - 1);
  guarded("history-error", loadHistory);
});
$("history-next").addEventListener("click", () => {
  state.history.page += 1;
  guarded("history-error", loadHistory);
});

// ---- Promo codes -------------------------------------------------------------------------

async function loadPromos() {
  const result = await rpc("promo_codes.list", {}, { safe: true });
  state.promos = result.promo_codes;
  $("promo-list").replaceChildren(...state.promos.map((promo) => el("li", {}, [
    el("code", { text: promo.code }), `${promo.percent_off}% off — ${promo.description || "no description"} `,
    el("small", { text: `until ${formatTime(promo.expires_at)}` }),
  ])));
  if (!state.promos.length) $("promo-list").append(el("li", { text: "No active promo codes." }));
}

const applyForm = $("apply-form");
applyForm.elements.code.addEventListener("input", (event) => {
  event.target.value = event.target.value.toUpperCase();
});
bindForm(applyForm, async ({ code }) => {
  $("apply-result").hidden = true;
  if (!state.user) throw new Error("Sign in to apply a promo code.");
  const result = await rpc("promo_codes.apply", { code }, { safe: true });
  const promo = state.promos.find((p) => p.code === result.user_promo_code.code);
  const used = result.user_promo_code.used_at;
  $("apply-result").textContent = used
    ? `${code} was already used on a ride.`
    : `${code} applied${promo ? ` (${promo.percent_off}% off)` : ""}: it will be taken off your next fare.`;
  $("apply-result").hidden = false;
});

const createPromoForm = $("create-promo-form");
bindForm(createPromoForm, async (values) => {
  const done = createPromoForm.querySelector(".ok");
  done.hidden = true;
  if (!state.user) throw new Error("Sign in as an admin to create promo codes.");
  const expires = new Date(Date.now() + Number(values.days) * 86400000).toISOString();
  const result = await rpc("promo_codes.create", {
    code: values.code, description: values.description, percent_off: Number(values.percent_off), expires_at: expires,
  });
  done.textContent = `Created ${result.promo_code.code}.`;
  done.hidden = false;
  await guarded("promos-error", loadPromos);
});
createPromoForm.elements.code.addEventListener("input", (event) => {
  event.target.value = event.target.value.toUpperCase();
});

// ---- Owners ------------------------------------------------------------------------------

/**
 * The caller's vehicles in the selected city: `vehicles.mine` pages through all of the caller's
 * vehicles (every city, available or in use), kept here for the city on screen.
 */
async function loadOwned() {
  if (!state.user) {
    $("owned-rows").replaceChildren();
    return;
  }
  const found = new Map();
  let cursor = null;
  for (let page = 0; page < 50; page++) {
    const params = { limit: 100 };
    if (cursor) params.cursor = cursor;
    const result = await rpc("vehicles.mine", params, { safe: true });
    for (const vehicle of result.vehicles) found.set(vehicle.id, vehicle);
    cursor = result.next_cursor;
    if (!cursor) break;
  }
  state.owned = new Map();
  for (const [id, vehicle] of found) state.owned.set(id, vehicle);
  renderOwned();
}

function ownedInCity() {
  return [...state.owned.values()].filter((v) => v.city === state.city);
}

function renderOwned() {
  const vehicles = ownedInCity();
  $("owned-rows").replaceChildren(...vehicles.map((vehicle) => {
    const history = el("button", { text: "History", attrs: { type: "button", "aria-label": `Location history of ${vehicle.brand} ${vehicle.type}` } });
    history.addEventListener("click", () => guarded("owned-error", () => showPath(vehicle)));
    const remove = el("button", { text: "Remove", className: "danger", attrs: { type: "button", "aria-label": `Remove ${vehicle.brand} ${vehicle.type}` } });
    remove.disabled = vehicle.status === "removed";
    remove.addEventListener("click", () => guarded("owned-error", async () => {
      const result = await rpc("vehicles.remove", { id: vehicle.id }, { safe: true });
      state.owned.set(vehicle.id, result.vehicle);
      renderOwned();
    }));
    return el("tr", { attrs: { "data-id": vehicle.id } }, [
      el("td", {}, [el("span", { className: `swatch v-${vehicle.type}`, attrs: { "aria-hidden": "true" } }), vehicle.type]),
      el("td", { text: `${vehicle.brand}, ${vehicle.color}` }),
      el("td", { text: vehicle.status.replace("_", " ") }),
      el("td", { text: `${vehicle.battery}%` }),
      el("td", {}, [history, " ", remove]),
    ]);
  }));
  if (!vehicles.length) $("owned-rows").append(el("tr", {}, [el("td", { text: "No vehicles of yours here yet.", attrs: { colspan: "5" } })]));
  drawOwnerMap();
}

async function showPath(vehicle) {
  const result = await rpc("vehicles.location_history", { id: vehicle.id, limit: 100 }, { safe: true });
  state.ownerPath = result.locations.slice().reverse();
  const count = result.locations.length;
  $("owned-history").textContent =
    `${vehicle.brand} ${vehicle.type}: ${count} recorded position${count === 1 ? "" : "s"}, drawn in purple.`;
  drawOwnerMap();
}

function drawOwnerMap() {
  const city = cityInfo();
  if (!city) return;
  const vehicles = ownedInCity().filter((v) => v.status !== "removed");
  ownerMap.frame(city, vehicles.map((v) => v.location).concat(state.ownerPath));
  ownerMap.draw({ vehicles, path: state.ownerPath, pick: state.pick });
}

let addKey = null;
const addForm = $("add-vehicle-form");
addForm.addEventListener("input", () => { addKey = null; });
bindForm(addForm, async (values) => {
  if (!state.user) throw new Error("Sign in to add a vehicle.");
  addKey = addKey || newKey();
  const result = await rpc("vehicles.add", {
    type: values.type, city: state.city, location: state.pick, color: values.color.trim(), brand: values.brand.trim(),
    battery: Number(values.battery), idempotency_key: addKey,
  }, { safe: true });
  addKey = null;
  state.owned.set(result.vehicle.id, result.vehicle);
  state.pick = null;
  addForm.reset();
  $("pick-position").value = "";
  renderOwned();
  await guarded("vehicles-error", () => loadVehicles(false));
}, {
  validate: (values) => ({
    position: state.pick ? null : "Click the map to pick a position.",
    color: values.color.trim() ? null : "Enter a color.",
    brand: values.brand.trim() ? null : "Enter a brand.",
  }),
});
$("reload-owned").addEventListener("click", () => guarded("owned-error", loadOwned));

// ---- Accounts ----------------------------------------------------------------------------

bindForm($("signin-form"), async ({ username, password }) => {
  const result = await rpc("auth.login", { username, password });
  session.set(result.token);
  $("signin-form").reset();
  show("ride");
  await signedIn(result.user);
});

bindForm($("register-form"), async (values) => {
  const done = $("register-form").querySelector(".ok");
  done.hidden = true;
  const result = await rpc("users.register", values);
  $("register-form").reset();
  $("register-city").value = state.city;
  $("signin-form").elements.username.value = result.user.username;
  done.textContent = `Account ${result.user.username} created in ${result.user.city}. Sign in with it.`;
  done.hidden = false;
  $("signin-form").elements.password.focus();
}, {
  validate: (values) => ({
    email: /^[^@\s]+@[^@\s]+$/.test(values.email) ? null : "Enter an address like name@example.com.",
  }),
});

async function signedIn(user) {
  state.user = user;
  showError("global-error", null);
  $("who").textContent = `Signed in as ${user.username} (${user.city})`;
  $("header-signout").hidden = false;
  $("signed-in-card").hidden = false;
  $("signin-card").hidden = true;
  $("register-card").hidden = true;
  for (const note of document.querySelectorAll(".needs-auth")) note.hidden = true;
  fillDetails($("account-details"), [
    ["Username", user.username], ["Name", `${user.first_name} ${user.last_name}`], ["Email", user.email],
    ["City", `${user.city} (${user.region})`], ["Member since", formatTime(user.created_at)],
  ]);
  state.history = { cursors: [null], page: 0 };
  state.owned = new Map();
  // The gateway now also knows the user's city: locate again, and go there.
  const city = await locate();
  await chooseCity(city);
  await guarded("ride-error", restoreRide);
  await guarded("promos-error", loadPromos);
}

function signedOut() {
  session.clear();
  state.user = null;
  clearInterval(state.timer);
  state.ride = null;
  state.path = [];
  state.owned = new Map();
  state.ownerPath = [];
  $("ride-panel").hidden = true;
  $("ride-summary").hidden = true;
  $("who").textContent = "Not signed in";
  $("header-signout").hidden = true;
  $("signed-in-card").hidden = true;
  $("signin-card").hidden = false;
  $("register-card").hidden = false;
  $("delete-confirm").hidden = true;
  $("history-rows").replaceChildren();
  $("owned-rows").replaceChildren();
  for (const note of document.querySelectorAll(".needs-auth")) note.hidden = false;
  renderSelected();
  drawMap();
}

onSessionExpired(async () => {
  if (!state.user) return;
  signedOut();
  showError("global-error", "Your session has ended; sign in again (Account tab).");
  await relocate();
});

/** Without the account's city the gateway locates the caller again. */
async function relocate() {
  try {
    await chooseCity(await locate());
  } catch (error) {
    showError("global-error", describe(error));
  }
}

async function signOut() {
  showError("account-error", null);
  try {
    await rpc("auth.logout", {}, { safe: true });
  } catch (error) {
    // The token is dropped here either way; a failure only means it expires on its own.
    if (error.code !== 401) showError("account-error", `Signed out here; the server said: ${describe(error)}`);
  }
  signedOut();
  show("account");
  await relocate();
}
$("signout").addEventListener("click", signOut);
$("header-signout").addEventListener("click", signOut);

$("delete-account").addEventListener("click", () => {
  $("delete-confirm").hidden = false;
  $("delete-confirm").focus();
});
$("delete-confirm").addEventListener("click", () => guarded("account-error", async () => {
  await rpc("users.delete", {}, { safe: true });
  signedOut();
  showError("account-error", null);
  const done = $("register-form").querySelector(".ok");
  done.textContent = "Your account was deleted.";
  done.hidden = false;
  await relocate();
}));

// ---- Start -------------------------------------------------------------------------------

async function start() {
  try {
    const city = await locate();
    if (session.token) {
      try {
        const me = await rpc("users.me", {}, { safe: true });
        await signedIn(me.user);
        return;
      } catch (error) {
        if (error.code !== 401) throw error;
        session.clear();
      }
    }
    await chooseCity(city);
    await guarded("promos-error", loadPromos);
  } catch (error) {
    showError("global-error", `MovR could not start: ${describe(error)}`);
  }
}

start();
