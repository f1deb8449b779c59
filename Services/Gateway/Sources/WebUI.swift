import MovRRPCTransport

/// The gateway's browser UI: one self-contained page that talks to `POST /rpc` like any client.
enum WebUI {
    static func response(for path: String) -> HTTPPlainResponse? {
        switch path {
        case "/", "/index.html":
            return HTTPPlainResponse(status: 200, contentType: "text/html; charset=utf-8", body: Array(page.utf8))
        default:
            return nil
        }
    }

    static let page = #"""
    <!doctype html>
    <html lang="en"><head><meta charset="utf-8"><title>MovR</title>
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <style>
    body{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem;color:#222}
    h1{margin-bottom:.2rem} .muted{color:#666} table{border-collapse:collapse;width:100%}
    td,th{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left} button{margin:.1rem}
    section{margin:1.2rem 0} input,select{margin:.1rem .3rem .1rem 0} #status{min-height:1.3rem;color:#a33}
    </style></head><body>
    <h1>MovR</h1><div class="muted">vehicle sharing in <span id="ncities">?</span> cities across <span id="nregions">?</span> regions</div>
    <div id="status"></div>
    <section><h2>Account</h2>
     <div id="who" class="muted">not signed in</div>
     <input id="username" placeholder="username"><input id="password" type="password" placeholder="password">
     <button id="login">Sign in</button><button id="logout">Sign out</button>
     <details><summary>Register</summary>
      <input id="r_username" placeholder="username"><input id="r_password" type="password" placeholder="password (8+)">
      <input id="r_email" placeholder="email"><input id="r_first" placeholder="first name"><input id="r_last" placeholder="last name">
      <select id="r_city"></select><button id="register">Register</button></details>
    </section>
    <section><h2>Vehicles near you</h2><select id="city"></select><button id="refresh">Refresh</button>
     <table><thead><tr><th>type</th><th>brand</th><th>color</th><th>battery</th><th>location</th><th></th></tr></thead>
     <tbody id="vehicles"></tbody></table></section>
    <section><h2>My rides</h2><table><thead><tr><th>started</th><th>vehicle</th><th>ended</th><th>revenue</th><th></th></tr></thead>
     <tbody id="rides"></tbody></table></section>
    <script>
    let token = sessionStorage.getItem("movr_token"); let nextId = 1;
    const $ = id => document.getElementById(id);
    async function rpc(method, params) {
      const headers = {"Content-Type": "application/json"};
      if (token) headers["Authorization"] = "Bearer " + token;
      const city = $("city").value; if (city) headers["X-City"] = city;
      const reply = await fetch("/rpc", {method: "POST", headers, body: JSON.stringify({jsonrpc: "2.0", id: nextId++, method, params: params || {}})});
      const body = await reply.json();
      if (body.error) { const reason = body.error.data && body.error.data.reason; throw new Error(body.error.message + (reason ? " (" + reason + ")" : "")); }
      return body.result;
    }
    function say(text) { $("status").textContent = text || ""; }
    function cell(row, text) { const td = document.createElement("td"); td.textContent = text; row.appendChild(td); return td; }
    async function loadCities() {
      const result = await rpc("cities.list");
      $("ncities").textContent = result.cities.length; $("nregions").textContent = result.regions.length;
      for (const select of [$("city"), $("r_city")]) {
        select.innerHTML = "";
        for (const c of result.cities) { const o = document.createElement("option"); o.value = c.city; o.textContent = c.city + " (" + c.region + ")"; select.appendChild(o); }
      }
    }
    async function loadVehicles() {
      const result = await rpc("vehicles.list", {city: $("city").value, limit: 25});
      const body = $("vehicles"); body.innerHTML = "";
      for (const v of result.vehicles) {
        const row = document.createElement("tr");
        cell(row, v.type); cell(row, v.brand); cell(row, v.color); cell(row, v.battery + "%");
        cell(row, v.location.latitude.toFixed(4) + ", " + v.location.longitude.toFixed(4));
        const b = document.createElement("button"); b.textContent = "Ride";
        b.onclick = () => act(async () => { await rpc("rides.start", {vehicle_id: v.id, idempotency_key: crypto.randomUUID()}); await refresh(); });
        cell(row, "").appendChild(b); body.appendChild(row);
      }
    }
    async function loadRides() {
      const body = $("rides"); body.innerHTML = ""; if (!token) return;
      const result = await rpc("rides.list", {limit: 10});
      for (const r of result.rides) {
        const row = document.createElement("tr");
        cell(row, r.start_time); cell(row, r.vehicle_id.slice(0, 8)); cell(row, r.end_time || "active");
        cell(row, r.revenue ? r.revenue + " " + r.currency : "");
        if (!r.end_time) { const b = document.createElement("button"); b.textContent = "End";
          b.onclick = () => act(async () => { await rpc("rides.end", {ride_id: r.id, location: r.start_location}); await refresh(); });
          cell(row, "").appendChild(b); } else cell(row, "");
        body.appendChild(row);
      }
    }
    async function whoAmI() {
      if (!token) { $("who").textContent = "not signed in"; return; }
      try { const me = await rpc("users.me"); $("who").textContent = "signed in as " + me.user.username + " (" + me.user.city + ")"; }
      catch (e) { token = null; sessionStorage.removeItem("movr_token"); $("who").textContent = "not signed in"; }
    }
    async function refresh() { await whoAmI(); await loadVehicles(); await loadRides(); }
    async function act(f) { try { say(""); await f(); } catch (e) { say(e.message); } }
    $("login").onclick = () => act(async () => { const r = await rpc("auth.login", {username: $("username").value, password: $("password").value});
      token = r.token; sessionStorage.setItem("movr_token", token); await refresh(); });
    $("logout").onclick = () => act(async () => { if (token) await rpc("auth.logout"); token = null; sessionStorage.removeItem("movr_token"); await refresh(); });
    $("register").onclick = () => act(async () => { await rpc("users.register", {username: $("r_username").value, password: $("r_password").value,
      email: $("r_email").value, first_name: $("r_first").value, last_name: $("r_last").value, city: $("r_city").value}); say("registered — now sign in"); });
    $("refresh").onclick = () => act(refresh); $("city").onchange = () => act(loadVehicles);
    act(async () => { await loadCities(); await refresh(); });
    </script></body></html>
    """#
}
