import Foundation
import MovRAPI
import MovRLocality
import MovRPostgres
import MovRTestSupport
import NIOPosix
@testable import MovRUsers

/// A users store on a fresh database of the shared test cluster, with migrations applied.
enum UsersTestFixture {
    /// Cheaper than production so store tests stay quick on a busy machine; the parameters do
    /// not change any store logic.
    static let testParameters = ScryptParameters(log2N: 12, r: 8, p: 1)

    static func locality() throws -> Locality {
        try Locality(
            regions: [Region(name: "us-east1", currency: "USD"), Region(name: "europe-west1", currency: "EUR")],
            cities: [
                City(name: "New York", region: "us-east1", latitude: 40.71, longitude: -74.0, radiusKm: 30),
                City(name: "Paris", region: "europe-west1", latitude: 48.86, longitude: 2.35, radiusKm: 20),
            ],
            primaryRegion: "us-east1", intraRegionLatencyMs: 1,
            latencies: [("us-east1", "europe-west1", Locality.RegionLatency(ms: 80, estimate: false))])
    }

    static func withStore<R>(
        throttle: AuthThrottle = AuthThrottle(),
        sessionLifetime: Duration = .seconds(24 * 3600),
        _ body: (UsersStore) async throws -> R
    ) async throws -> R {
        let pool = NIOThreadPool(numberOfThreads: 2)
        pool.start()
        do {
            let result = try await TestPostgres.withClient { client in
                _ = try await Migrator(client: client).apply(UsersSchema.migrations)
                let store = UsersStore(database: client, locality: try locality(),
                                       passwordHasher: PasswordHasher(threadPool: pool, parameters: testParameters),
                                       throttle: throttle, sessionLifetime: sessionLifetime)
                return try await body(store)
            }
            try await pool.shutdownGracefully()
            return result
        } catch {
            try? await pool.shutdownGracefully()
            throw error
        }
    }

    static func registration(_ username: String, password: String = "password-123",
                             city: String = "new york") -> UsersRegisterParams {
        UsersRegisterParams(username: username, password: password, email: "\(username)@example.com",
                            firstName: "Ada", lastName: "Lovelace", city: city)
    }
}
