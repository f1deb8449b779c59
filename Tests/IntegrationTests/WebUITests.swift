import Foundation
import MovRAPI
import MovRGateway
import MovRRPC
import MovRTestSupport
import Testing

/// The gateway's web app, driven in headless Chromium (Debian's chromium + chromedriver, which
/// `make test` installs) against the stack the integration tests start: a rider registers, signs
/// in, rides, applies a promo code, owns vehicles and deletes the account; errors show the API's
/// message; the page carries its security headers and the console stays clean. Screenshots of
/// every main screen at desktop and phone width are left in the test's temporary directory.
@Suite(.serialized) struct WebUITests {
    // Away from the primary region, whose rides service ConcurrencyAndRepairTests kills and
    // restarts: calls addressed by id go to the gateway's own region.
    static let region = "europe-west1"
    static let city = "amsterdam"

    @Test func pageAndAssetHeaders() async throws {
        let stack = try await GatewayInputTests.stack()
        let page = try await Self.get(stack, "/")
        #expect(page.status == 200)
        let csp = page.headers["content-security-policy"] ?? ""
        for directive in ["default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'",
                          "object-src 'none'"] {
            #expect(csp.contains(directive), "CSP lacks \(directive): \(csp)")
        }
        #expect(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"))
        #expect(page.headers["cache-control"] == "no-store")
        #expect(page.headers["x-content-type-options"] == "nosniff")
        #expect(page.headers["referrer-policy"] == "no-referrer")
        #expect(page.headers["strict-transport-security"]?.hasPrefix("max-age=") == true)
        #expect(page.headers["content-type"] == "text/html; charset=utf-8")
        // Nothing inline: no script or style element with content, no style or on* attributes.
        #expect(page.body.range(of: #"<script[^>]*>[^<]"#, options: .regularExpression) == nil)
        #expect(!page.body.contains("<style") && !page.body.contains("style=") && !page.body.contains(" onclick="))

        let match = try #require(page.body.range(of: #"/assets/[0-9a-f]{12}/app\.js"#, options: .regularExpression))
        let script = String(page.body[match])
        let asset = try await Self.get(stack, script)
        #expect(asset.status == 200 && asset.body.contains("import"))
        #expect(asset.headers["content-type"] == "text/javascript; charset=utf-8")
        #expect(asset.headers["cache-control"] == "public, max-age=31536000, immutable")
        let css = try await Self.get(stack, script.replacingOccurrences(of: "app.js", with: "app.css"))
        #expect(css.status == 200 && css.headers["content-type"] == "text/css; charset=utf-8")
        // Another version, an unknown name or a path outside the assets: 404.
        #expect(try await Self.get(stack, "/assets/000000000000/app.js").status == 404)
        #expect(try await Self.get(stack, script.replacingOccurrences(of: "app.js", with: "nope.js")).status == 404)
        #expect(try await Self.get(stack, script.replacingOccurrences(of: "app.js", with: "../../index.html")).status == 404)
        #expect(try await Self.get(stack, "/app.js").status == 404)
    }

    @Test func assetsAreVersionedByTheirContent() throws {
        let directory = NSTemporaryDirectory() + "movr-webapp-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func write(_ name: String, _ text: String) throws {
            try Data(text.utf8).write(to: URL(fileURLWithPath: directory + "/" + name))
        }
        #expect(throws: WebUIError.self) { try WebUI(directory: directory) }
        try write("index.html", #"<script type="module" src="/assets/{{VERSION}}/app.js"></script>"#)
        try write("app.js", "export const a = 1;")
        try write("notes.txt", "not served")
        let first = try WebUI(directory: directory)
        let page = try #require(first.response(for: "/"))
        #expect(String(decoding: page.body, as: UTF8.self).contains("/assets/\(first.version)/app.js"))
        #expect(page.cacheControl == "no-store")
        #expect(page.headers.contains { $0.0 == "content-security-policy" && $0.1 == WebUI.contentSecurityPolicy })
        let script = try #require(first.response(for: "/assets/\(first.version)/app.js"))
        #expect(script.contentType == "text/javascript; charset=utf-8" && script.cacheControl.contains("immutable"))
        #expect(first.response(for: "/assets/\(first.version)/notes.txt") == nil)
        #expect(first.response(for: "/assets/\(first.version)/index.html") == nil)
        #expect(first.response(for: "/app.js") == nil)
        // Any change to any file is a new version; the old URLs are gone.
        try write("app.js", "export const a = 2;")
        let second = try WebUI(directory: directory)
        #expect(second.version != first.version)
        #expect(second.response(for: "/assets/\(first.version)/app.js") == nil)
        // The repository's app is found from the test binary, as the gateway finds it.
        let located = try #require(WebUI.locate(configured: nil))
        #expect(located.hasSuffix("Services/Gateway/WebApp"))
        #expect(WebUI.locate(configured: directory) == directory)
    }

    @Test func rpcRepliesNameTheRegionThatAnswered() async throws {
        let stack = try await GatewayInputTests.stack()
        let body = #"{"jsonrpc":"2.0","id":1,"method":"vehicles.list","params":{"city":"amsterdam","limit":1}}"#
        let reply = try await Self.get(stack, "/rpc", post: body)
        #expect(reply.status == 200 && reply.body.contains("\"vehicles\""))
        #expect(reply.headers["x-movr-region"] == "europe-west1")
        let full = try await LocalStackHarness.shared.start()
        #expect(reply.headers["x-movr-gateway-region"] == full.primaryRegion)
        #expect(reply.headers["server-timing"]?.hasPrefix("gateway;dur=") == true)
        let cities = try await Self.get(stack, "/rpc", post: #"{"jsonrpc":"2.0","id":2,"method":"cities.list"}"#,
                                        headers: ["X-City: Rome"])
        #expect(cities.body.contains(#""location":{"city":"rome","region":"europe-west1","source":"x_city"}"#))
        #expect(cities.body.contains(#""radius_km""#))
    }

    @Test func riderAndOwnerInChromium() async throws {
        let full = try await LocalStackHarness.shared.start()
        let stack = GatewayInputTests.LocalStackHarnessStack(gateway: try full.topology.url(of: .gateway, in: Self.region),
                                                             ca: full.ca)
        let domain = try await Domain.connect(region: Self.region)
        let work = NSTemporaryDirectory() + "movr-webui-\(getpid())-\(UUID().uuidString.prefix(6))"
        let shots = work + "/screenshots"
        try FileManager.default.createDirectory(atPath: shots, withIntermediateDirectories: true)
        print("web UI screenshots: \(shots)")

        // Vehicles of this test (so no other test takes them), a rival rider, a promo code.
        let owner = try await domain.newUser(city: Self.city, prefix: "webowner")
        let brand = "Web\(UUID().uuidString.prefix(4))"
        var ours: [Vehicle] = []
        for index in 0..<3 {
            ours.append(try await domain.call(
                "vehicles.add",
                VehiclesAddParams(type: [.scooter, .bike, .skateboard][index], city: Self.city,
                                  location: Location(latitude: 52.3676 + Double(index) * 0.01, longitude: 4.9041 + Double(index) * 0.012),
                                  color: "teal", brand: brand, battery: 60 + index * 10),
                as: VehicleResult.self, as: owner).vehicle)
        }
        let rival = try await domain.newUser(city: Self.city, prefix: "webrival")
        let admin = try await domain.newUser(prefix: "webadmin")
        try await domain.grantAdmin(admin)
        let promo = "WEB" + UUID().uuidString.prefix(8).uppercased().replacingOccurrences(of: "-", with: "")
        _ = try await domain.call("promo_codes.create",
                                  PromoCodesCreateParams(code: promo, description: "half off, web UI test", percentOff: 50,
                                                         expiresAt: RFC3339.string(from: Date().addingTimeInterval(86_400))),
                                  as: PromoCodeResult.self, as: admin)

        let browser = try await WebDriver.start(workDirectory: work)
        do {
            try await Self.scenario(browser, stack: stack, domain: domain, ours: ours, rival: rival, promo: promo, shots: shots)
        } catch {
            try? await Self.shoot(browser, shots, "failure")
            await browser.quit()
            await domain.shutdown()
            throw error
        }
        await browser.quit()
        await domain.shutdown()
    }

    // swiftlint:disable:next function_body_length
    static func scenario(_ browser: WebDriver, stack: GatewayInputTests.LocalStackHarnessStack, domain: Domain,
                         ours: [Vehicle], rival: SignedInUser, promo: String, shots: String) async throws {
        try await browser.navigate(to: stack.gateway + "/")
        try await browser.waitForText("#where", containing: "Located by the gateway you reached")
        try await browser.waitUntil("vehicles listed") { try await browser.findAll("#vehicle-rows tr").count > 0 }
        #expect(try await browser.findAll("#map .vehicle").count == (try await browser.findAll("#vehicle-rows tr").count))
        try await browser.waitForText("#calls", containing: "vehicles.list →")
        try await shoot(browser, shots, "map-anonymous")

        // Register: validation first (nothing sent), then a real account.
        try await browser.click(".tab[data-view=account]")
        try await browser.click("#register-form button[type=submit]")
        #expect(try await browser.findAll("#register-form .field-error").count >= 5)
        let username = Domain.uniqueName("web")
        let password = "web ui password 1"
        try await browser.type("#register-form [name=username]", username)
        try await browser.type("#register-form [name=password]", password)
        try await browser.type("#register-form [name=email]", "\(username)@example.com")
        try await browser.type("#register-form [name=first_name]", "Web")
        try await browser.type("#register-form [name=last_name]", "Rider")
        try await browser.click("#register-city option[value='\(city)']")
        #expect(try await browser.findAll("#register-form .field-error").isEmpty, "edited fields keep no stale message")
        try await shoot(browser, shots, "account")
        try await browser.click("#register-form button[type=submit]")
        try await browser.waitForText("#register-form .ok", containing: "created in \(city)")

        // A wrong password shows the API's message beside the form; then sign in.
        try await browser.type("#signin-form [name=password]", "not the password")
        try await browser.click("#signin-form button[type=submit]")
        try await browser.waitForText("#signin-form .form-error", containing: "invalid_credentials")
        try await browser.type("#signin-form [name=password]", password)
        try await browser.click("#signin-form button[type=submit]")
        try await browser.waitForText("#who", containing: username)
        // The city is shown as soon as it is known; its source follows once users.me answers.
        let whereText = try await browser.waitForText("#where", containing: "your account's city")
        #expect(whereText.contains(city), "\(whereText)")
        // The token is in this tab's sessionStorage only: not in localStorage, not in the URL.
        #expect(try await browser.execute("return localStorage.length") as? Int == 0)
        #expect(try await browser.execute("return sessionStorage.getItem('movr.session') !== null") as? Bool == true)
        #expect(try await browser.execute("return location.href") as? String == stack.gateway + "/")

        // Sorting the list by battery, twice, flips the order.
        try await browser.click("button.sort[data-sort=battery]")
        #expect(try await browser.attribute("#vehicle-table th:nth-child(4)", "aria-sort") == "ascending")
        try await browser.click("button.sort[data-sort=battery]")
        #expect(try await browser.attribute("#vehicle-table th:nth-child(4)", "aria-sort") == "descending")

        // The error case: another rider takes the selected vehicle first.
        try await selectVehicle(browser, ours[0].id)
        #expect(try await browser.text("#selected-details").contains(ours[0].id.uuidString.lowercased()))
        let rivalRide = try await domain.call("rides.start", RidesStartParams(vehicleID: ours[0].id), as: RideResult.self,
                                              as: rival, city: city).ride
        var apiMessage = ""
        do {
            let third = try await domain.newUser(city: city, prefix: "webthird")
            _ = try await domain.call("rides.start", RidesStartParams(vehicleID: ours[0].id), as: RideResult.self,
                                      as: third, city: city)
        } catch let error as RPCError {
            apiMessage = error.message
        }
        #expect(!apiMessage.isEmpty)
        try await browser.click("#start-ride")
        try await browser.waitUntil("the start error") { try await browser.isDisplayed("#start-error") }
        let shown = try await browser.text("#start-error").lowercased()
        #expect(shown.contains(apiMessage.lowercased()) && shown.contains("vehicle_unavailable"),
                "shown: \(shown), API: \(apiMessage)")
        #expect(shown.contains("another rider"))
        try await shoot(browser, shots, "start-error")
        _ = try await domain.call("rides.end", RidesEndParams(rideID: rivalRide.id, location: rivalRide.startLocation),
                                  as: RideResult.self, as: rival)

        // A ride: start, move twice (drawn as a path), end; duration, fare and currency shown.
        try await browser.click("#reload-vehicles")
        try await startRide(browser, ours[1].id)
        try await move(browser, bearing: 0, distance: "200 m")
        try await move(browser, bearing: 90, distance: "400 m")
        #expect(try await browser.findAll("#map polyline.path").count == 1)
        try await browser.waitForText("#calls", containing: "rides.update_location → \(region)")
        try await shoot(browser, shots, "riding")
        try await browser.click("#end-ride")
        try await browser.waitUntil("the ride summary") { try await browser.isDisplayed("#ride-summary") }
        let summary = try await browser.text("#ride-summary")
        #expect(summary.range(of: #"Fare\s*\d+\.\d\d EUR"#, options: .regularExpression) != nil, "\(summary)")
        #expect(summary.contains("Duration") && summary.range(of: #"Promo code\s*none"#, options: .regularExpression) != nil,
                "\(summary)")
        try await shoot(browser, shots, "ride-ended")

        try await browser.click(".tab[data-view=history]")
        try await browser.waitForText("#history-rows", containing: "EUR")
        #expect(try await browser.text("#history-rows").contains("ended"))
        try await shoot(browser, shots, "history")

        // Promo codes: an unknown one is refused with the API's message; ours is applied and
        // taken off the next fare.
        try await browser.click(".tab[data-view=promos]")
        try await browser.waitForText("#promo-list", containing: promo)
        try await browser.type("#apply-form [name=code]", "no pe!")
        try await browser.click("#apply-form button[type=submit]")
        try await browser.waitUntil("the pattern error") { try await browser.findAll("#apply-form .field-error").count == 1 }
        try await browser.type("#apply-form [name=code]", "NOPE\(promo)")
        try await browser.click("#apply-form button[type=submit]")
        try await browser.waitForText("#apply-form .form-error", containing: "promo_code_not_found")
        try await browser.type("#apply-form [name=code]", promo)
        try await browser.click("#apply-form button[type=submit]")
        try await browser.waitForText("#apply-result", containing: "\(promo) applied (50% off)")
        // Only admins create codes: the API's refusal is shown beside the form.
        try await browser.type("#create-promo-form [name=code]", "X\(promo)")
        try await browser.click("#create-promo-form button[type=submit]")
        try await browser.waitForText("#create-promo-form .form-error", containing: "admin_required")
        try await shoot(browser, shots, "promos")

        try await browser.click(".tab[data-view=ride]")
        try await startRide(browser, ours[2].id)
        try await move(browser, bearing: 180, distance: "200 m")
        try await browser.click("#end-ride")
        try await browser.waitForText("#ride-summary", containing: "\(promo) (−50%) applied")
        try await browser.click(".tab[data-view=history]")
        try await browser.waitForText("#history-rows", containing: promo)

        // Four more rides (through the API, as the same rider) make a second history page.
        let login = try await domain.call("auth.login", AuthLoginParams(username: username, password: password),
                                          as: AuthLoginResult.self)
        let me = SignedInUser(user: login.user, token: login.token, password: password)
        for _ in 0..<4 {
            let ride = try await domain.call("rides.start", RidesStartParams(vehicleID: ours[1].id), as: RideResult.self,
                                             as: me, city: city).ride
            _ = try await domain.call("rides.end", RidesEndParams(rideID: ride.id, location: ride.startLocation),
                                      as: RideResult.self, as: me)
        }
        try await browser.click(".tab[data-view=ride]")
        try await browser.click(".tab[data-view=history]")
        try await browser.waitUntil("a full first page") { try await browser.findAll("#history-rows tr").count == 5 }
        try await browser.click("#history-next")
        try await browser.waitForText("#history-page", containing: "page 2")
        try await browser.waitUntil("the second page") { try await browser.findAll("#history-rows tr").count == 1 }
        #expect(try await browser.property("#history-next", "disabled") as? Bool == true)
        try await browser.click("#history-prev")
        try await browser.waitForText("#history-page", containing: "page 1")
        try await browser.waitUntil("the first page again") { try await browser.findAll("#history-rows tr").count == 5 }

        // Owner: validation (no position yet), add a vehicle at a picked position, see its path,
        // remove it.
        try await browser.click(".tab[data-view=owner]")
        try await browser.type("#add-vehicle-form [name=color]", "violet")
        try await browser.type("#add-vehicle-form [name=brand]", "WebOwn")
        try await browser.click("#add-vehicle-form button[type=submit]")
        try await browser.waitForText("#add-vehicle-form", containing: "Click the map to pick a position.")
        try await browser.click("#owner-map")
        #expect((try await browser.property("#pick-position", "value") as? String)?.isEmpty == false)
        try await browser.click("#add-vehicle-form button[type=submit]")
        try await browser.waitForText("#owned-rows", containing: "WebOwn")
        let added = try #require(try await browser.attribute("#owned-rows tr", "data-id").flatMap(UUID.init(uuidString:)))
        let mine = try await domain.call("vehicles.get", VehiclesGetParams(id: added), as: VehicleResult.self).vehicle
        #expect(mine.brand == "WebOwn" && mine.color == "violet" && mine.city == city && mine.ownerID == me.user.id)
        try await browser.click("#owned-rows tr[data-id='\(added.uuidString.lowercased())'] button:first-child")
        try await browser.waitForText("#owned-history", containing: "1 recorded position,")
        try await shoot(browser, shots, "owner")
        try await browser.click("#owned-rows tr[data-id='\(added.uuidString.lowercased())'] button.danger")
        try await browser.waitForText("#owned-rows", containing: "removed")
        let removed = try await domain.call("vehicles.get", VehiclesGetParams(id: added), as: VehicleResult.self).vehicle
        #expect(removed.status == .removed)

        // Keyboard: a vehicle on the map is selected with Enter.
        try await browser.click(".tab[data-view=ride]")
        try await browser.waitUntil("vehicles on the map") { try await browser.findAll("#map .vehicle").count > 0 }
        _ = try await browser.execute("document.querySelector('#map .vehicle').focus()")
        try await browser.pressKeys("\u{E007}")
        try await browser.waitUntil("the selection by keyboard") { try await browser.isDisplayed("#selected-details") }

        // Phone width: every main screen stays within the viewport.
        try await browser.setWindowSize(width: 390, height: 844)
        for view in ["ride", "history", "promos", "owner", "account"] {
            try await browser.click(".tab[data-view=\(view)]")
            try await Task.sleep(for: .milliseconds(300))
            let overflow = try await browser.execute("return document.documentElement.scrollWidth - window.innerWidth") as? Int
            #expect((overflow ?? 1) <= 0, "\(view) is wider than a phone: \(overflow ?? -1) px")
            try await shoot(browser, shots, view)
        }
        try await browser.setWindowSize(width: 1280, height: 1000)

        // Sign out and back in, then delete the account: it can no longer sign in.
        try await browser.click("#header-signout")
        try await browser.waitForText("#who", containing: "Not signed in")
        try await browser.waitForText("#where", containing: "Located by the gateway you reached")
        #expect(try await browser.execute("return sessionStorage.length") as? Int == 0)
        try await browser.type("#signin-form [name=username]", username)
        try await browser.type("#signin-form [name=password]", password)
        try await browser.click("#signin-form button[type=submit]")
        try await browser.waitForText("#who", containing: username)
        try await browser.waitForText("#where", containing: "your account's city")

        // A session revoked elsewhere: the next call drops it and says so; then sign in again.
        let token = try #require(try await browser.execute("return sessionStorage.getItem('movr.session')") as? String)
        _ = try await domain.call("auth.logout", EmptyObject(), as: EmptyObject.self,
                                  as: SignedInUser(user: me.user, token: token, password: password))
        try await browser.click(".tab[data-view=history]")
        try await browser.waitForText("#global-error", containing: "session has ended")
        try await browser.waitForText("#who", containing: "Not signed in")
        try await browser.waitForText("#where", containing: "Located by the gateway you reached")
        try await browser.click(".tab[data-view=account]")
        try await browser.type("#signin-form [name=username]", username)
        try await browser.type("#signin-form [name=password]", password)
        try await browser.click("#signin-form button[type=submit]")
        try await browser.waitForText("#who", containing: username)
        try await browser.waitForText("#where", containing: "your account's city")
        #expect(try await browser.isDisplayed("#global-error") == false)
        try await browser.click(".tab[data-view=account]")
        try await browser.click("#delete-account")
        try await browser.click("#delete-confirm")
        try await browser.waitForText("#register-form .ok", containing: "deleted")
        await expectRPCError(401, reason: "invalid_credentials") {
            try await domain.call("auth.login", AuthLoginParams(username: username, password: password), as: AuthLoginResult.self)
        }

        // The console: no CSP violation, no error of any kind.
        // (A probe first shows the log is really read.)
        _ = try await browser.execute("console.info('movr-webui-probe')")
        let log = try await browser.consoleLog()
        #expect(log.contains { $0.message.contains("movr-webui-probe") }, "the console log was not read: \(log)")
        let problems = log.filter { $0.level == "SEVERE" || $0.message.contains("Content Security Policy") }
        #expect(problems.isEmpty, "console: \(problems.map { "\($0.level) \($0.message)" })")
    }

    /// Selects `id` in the list, loading further pages until it is there.
    static func selectVehicle(_ browser: WebDriver, _ id: UUID) async throws {
        let row = "#vehicle-rows tr[data-id='\(id.uuidString.lowercased())']"
        try await browser.waitUntil("vehicle \(id) in the list") {
            if try await browser.findAll(row).count == 1 { return true }
            if try await browser.isDisplayed("#more-vehicles") { try await browser.click("#more-vehicles") }
            return false
        }
        try await browser.scrollIntoView(row)
        try await browser.click(row)
        try await browser.waitUntil("the selection") { try await browser.isDisplayed("#start-ride") }
    }

    static func startRide(_ browser: WebDriver, _ id: UUID) async throws {
        try await selectVehicle(browser, id)
        try await browser.click("#start-ride")
        try await browser.waitUntil("the ride panel") { try await browser.isDisplayed("#ride-panel") }
    }

    /// One press of a "move" button, and the distance the panel then shows.
    static func move(_ browser: WebDriver, bearing: Int, distance: String) async throws {
        try await browser.click(".move button[data-bearing='\(bearing)']")
        try await browser.waitForText("#ride-distance", containing: distance)
    }

    static func shoot(_ browser: WebDriver, _ directory: String, _ name: String) async throws {
        _ = try await browser.execute("window.scrollTo(0, 0)")
        let png = try await browser.screenshot()
        let size = try await browser.execute("return window.innerWidth") as? Int ?? 0
        try png.write(to: URL(fileURLWithPath: "\(directory)/\(name)-\(size < 600 ? "phone" : "desktop").png"))
    }

    struct Answer {
        var status: Int
        var headers: [String: String]
        var body: String
    }

    /// GET (or POST `post` to) `path` with curl; headers lowercased.
    static func get(_ stack: GatewayInputTests.LocalStackHarnessStack, _ path: String, post: String? = nil,
                    headers: [String] = []) async throws -> Answer {
        var arguments = ["-sS", "-D", "-", "--max-time", "30", "--cacert", stack.ca, "--path-as-is"]
        if let post { arguments += ["-H", "Content-Type: application/json", "--data-binary", post] }
        for header in headers { arguments += ["-H", header] }
        arguments.append(stack.gateway + path)
        let text = try await TestProcess.run("/usr/bin/curl", arguments).text
        guard let split = text.range(of: "\r\n\r\n") else { return Answer(status: 0, headers: [:], body: text) }
        let lines = text[..<split.lowerBound].components(separatedBy: "\r\n")
        let status = Int(lines.first?.split(separator: " ").dropFirst().first ?? "") ?? 0
        var fields: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return Answer(status: status, headers: fields, body: String(text[split.upperBound...]))
    }
}
