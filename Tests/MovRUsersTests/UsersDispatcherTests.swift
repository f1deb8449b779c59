import Foundation
import MovRAPI
import MovRInternalAPI
import MovRRPC
import NIOConcurrencyHelpers
import Testing
@testable import MovRUsers

/// The internal methods through the real dispatcher: names, allow lists, wire shapes.
@Suite struct UsersDispatcherTests {
    typealias Fixture = UsersTestFixture

    /// Sends one JSON-RPC request as `caller` and returns the decoded response object.
    func call(_ dispatcher: RPCDispatcher, _ method: String, _ params: String = "{}",
              caller: String?) async throws -> [String: Any] {
        let body = #"{"jsonrpc":"2.0","id":1,"method":"\#(method)","params":\#(params)}"#
        let reply = try #require(await dispatcher.handle(body: Array(body.utf8), context: RPCContext(caller: caller)))
        return try #require(try JSONSerialization.jsonObject(with: Data(reply)) as? [String: Any])
    }

    func errorOf(_ response: [String: Any]) -> (code: Int?, reason: String?) {
        let error = response["error"] as? [String: Any]
        let data = error?["data"] as? [String: Any]
        return (error?["code"] as? Int, data?["reason"] as? String)
    }

    @Test func registersExactlyTheContractMethods() async throws {
        try await Fixture.withStore { store in
            let dispatcher = UsersService.makeDispatcher(store: store) { _, _ in false }
            #expect(Set(dispatcher.methodNames) == InternalMethod.names(of: .users))
            #expect(dispatcher.allowLists == InternalMethod.allowLists(of: .users))
        }
    }

    /// Every identity the table leaves out of a method's allow list gets the dispatcher's 403.
    @Test func callersOutsideTheTableAreForbidden() async throws {
        try await Fixture.withStore { store in
            let dispatcher = UsersService.makeDispatcher(store: store) { _, _ in false }
            for entry in InternalMethod.table where entry.service == .users {
                guard let allowed = entry.allowedCallers else { continue }
                for outsider in ServiceIdentity.allCases where !allowed.contains(outsider) {
                    let refused = errorOf(try await call(dispatcher, entry.name, caller: outsider.rawValue))
                    #expect(refused.code == 403, "\(entry.name) as \(outsider)")
                    #expect(refused.reason == "caller_not_allowed", "\(entry.name) as \(outsider)")
                }
            }
        }
    }

    @Test func allowListsAreEnforced() async throws {
        try await Fixture.withStore { store in
            let dispatcher = UsersService.makeDispatcher(store: store) { _, _ in false }
            let register = #"{"username":"wire","password":"password-123","email":"w@example.com","first_name":"W","last_name":"X","city":"Paris"}"#
            for caller in ["rides", "vehicles", "operator", nil] as [String?] {
                let response = try await call(dispatcher, "users.register", register, caller: caller)
                #expect(errorOf(response).code == 403)
            }
            #expect(errorOf(try await call(dispatcher, "users.grant_role", #"{"username":"wire","role":"admin"}"#,
                                           caller: "gateway")).code == 403)
            #expect(try await call(dispatcher, "system.ping", caller: nil)["result"] != nil)
            #expect(try await call(dispatcher, "system.ping", caller: "rides")["result"] != nil)

            let created = try await call(dispatcher, "users.register", register, caller: "gateway")
            let user = try #require((created["result"] as? [String: Any])?["user"] as? [String: Any])
            #expect(user["username"] as? String == "wire")
            #expect(user["region"] as? String == "europe-west1")
            #expect(user["password"] == nil && user["password_hash"] == nil)
            let id = try #require(user["id"] as? String)
            let got = try await call(dispatcher, "users.get", #"{"id":"\#(id)"}"#, caller: "operator")
            #expect((got["result"] as? [String: Any])?["user"] != nil)
        }
    }

    @Test func loginSessionLogoutOverTheWire() async throws {
        try await Fixture.withStore { store in
            let dispatcher = UsersService.makeDispatcher(store: store) { _, _ in false }
            _ = try await store.register(Fixture.registration("wired"))
            let login = try await call(dispatcher, "auth.login",
                                       #"{"username":"wired","password":"password-123","client_address":"10.0.0.1"}"#,
                                       caller: "gateway")
            let result = try #require(login["result"] as? [String: Any])
            let token = try #require(result["token"] as? String)
            #expect(result["expires_at"] is String)

            let session = try await call(dispatcher, "auth.session", #"{"token":"\#(token)"}"#, caller: "gateway")
            let sessionResult = try #require(session["result"] as? [String: Any])
            #expect(sessionResult["roles"] as? [String] == [])
            #expect((sessionResult["user"] as? [String: Any])?["username"] as? String == "wired")

            let logout = try await call(dispatcher, "auth.logout", #"{"token":"\#(token)"}"#, caller: "gateway")
            #expect((logout["result"] as? [String: Any])?.isEmpty == true)
            let after = try await call(dispatcher, "auth.session", #"{"token":"\#(token)"}"#, caller: "gateway")
            #expect(errorOf(after) == (401, "invalid_token"))

            let wrong = try await call(dispatcher, "auth.login", #"{"username":"wired","password":"nope-nope"}"#,
                                       caller: "gateway")
            #expect(errorOf(wrong) == (401, "invalid_credentials"))
            let message = (wrong["error"] as? [String: Any])?["message"] as? String
            #expect(message?.contains("nope") == false)
        }
    }

    @Test func deleteIsRefusedDuringAnActiveRide() async throws {
        try await Fixture.withStore { store in
            let riding = NIOLockedValueBox<Set<UUID>>([])
            let asked = NIOLockedValueBox<[UUID]>([])
            let dispatcher = UsersService.makeDispatcher(store: store) { riderID, _ in
                asked.withLockedValue { $0.append(riderID) }
                return riding.withLockedValue { $0.contains(riderID) }
            }
            let user = try await store.register(Fixture.registration("rider"))
            let login = try await store.login(username: "rider", password: "password-123")
            riding.withLockedValue { _ = $0.insert(user.id) }

            let refused = try await call(dispatcher, "users.delete", #"{"id":"\#(user.id.uuidString)"}"#, caller: "gateway")
            #expect(errorOf(refused) == (409, "active_ride_exists"))
            #expect(try await store.get(id: user.id) == user)
            #expect(try await store.session(token: login.token).user == user)

            riding.withLockedValue { $0.removeAll() }
            let deleted = try await call(dispatcher, "users.delete", #"{"id":"\#(user.id.uuidString)"}"#, caller: "gateway")
            #expect((deleted["result"] as? [String: Any])?.isEmpty == true)
            #expect(try await store.get(id: user.id) == nil)
            #expect(asked.withLockedValue { $0 } == [user.id, user.id])

            let gone = try await call(dispatcher, "users.get", #"{"id":"\#(user.id.uuidString)"}"#, caller: "gateway")
            #expect(errorOf(gone) == (404, "user_not_found"))
        }
    }

    @Test func ridesServiceFailureRefusesTheDelete() async throws {
        try await Fixture.withStore { store in
            let dispatcher = UsersService.makeDispatcher(store: store) { _, _ in
                throw RPCError.unavailable(reason: "upstream_unavailable")
            }
            let user = try await store.register(Fixture.registration("unsure"))
            let response = try await call(dispatcher, "users.delete", #"{"id":"\#(user.id.uuidString)"}"#, caller: "gateway")
            #expect(errorOf(response) == (503, "upstream_unavailable"))
            #expect(try await store.get(id: user.id) != nil)
        }
    }
}
