import Testing

@testable import MovRAPI

@Suite("Public method table")
struct PublicMethodTests {
    @Test func namesMatchTheDesignTable() {
        #expect(PublicMethod.allCases.map(\.rawValue) == [
            "cities.list", "users.register", "auth.login", "auth.logout", "users.me", "users.delete",
            "vehicles.list", "vehicles.get", "vehicles.mine", "vehicles.add", "vehicles.remove", "vehicles.location_history",
            "rides.start", "rides.update_location", "rides.end", "rides.list", "rides.get",
            "promo_codes.list", "promo_codes.create", "promo_codes.apply",
        ])
    }

    @Test func authRequirementsMatchTheDesignTable() {
        // vehicles.location_history shows where people ride: signed-in only (docs/API.md).
        let open: Set<PublicMethod> = [.citiesList, .usersRegister, .authLogin, .vehiclesList, .vehiclesGet, .promoCodesList]
        for method in PublicMethod.allCases {
            #expect(method.requiresAuth == !open.contains(method), "\(method.rawValue)")
            if method.requiresAdmin { #expect(method.requiresAuth) }
        }
        #expect(PublicMethod.allCases.filter(\.requiresAdmin) == [.promoCodesCreate])
    }

    @Test func parsesFromWireName() {
        #expect(PublicMethod(rawValue: "rides.update_location") == .ridesUpdateLocation)
        #expect(PublicMethod(rawValue: "rides.updateLocation") == nil)
    }
}
