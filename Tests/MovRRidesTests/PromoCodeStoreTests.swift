import Foundation
import MovRAPI
import MovRInternalAPI
import MovRRides
import Testing

@Suite("promo codes")
struct PromoCodeStoreTests {
    @Test func applyingTwiceReturnsTheFirstApplication() async throws {
        try await withRidesStore { store async throws in
            try await store.makePromo("SPRING", percentOff: 20)
            let user = UUID()
            let first = try #require(try await store.applyPromoCode(userID: user, code: "SPRING"))
            #expect(first.userID == user && first.code == "SPRING" && first.usedAt == nil)
            let again = try #require(try await store.applyPromoCode(userID: user, code: "SPRING"))
            #expect(again == first)
            #expect(try await store.count("SELECT count(*) FROM user_promo_codes") == 1)
        }
    }

    @Test func concurrentApplicationsAllReturnTheSameRow() async throws {
        try await withRidesStore { store async throws in
            try await store.makePromo("RUSH", percentOff: 5)
            let user = UUID()
            let results = try await withThrowingTaskGroup(of: UserPromoCode?.self) { group in
                for _ in 0..<8 { group.addTask { try await store.applyPromoCode(userID: user, code: "RUSH") } }
                return try await group.reduce(into: [UserPromoCode?]()) { $0.append($1) }
            }
            #expect(results.allSatisfy { $0 != nil })
            #expect(Set(results.compactMap { $0 }).count == 1)
        }
    }

    @Test func unknownAndExpiredCodesCannotBeApplied() async throws {
        try await withRidesStore { store async throws in
            try await store.makePromo("OLD", percentOff: 5, expiresIn: -60)
            #expect(try await store.applyPromoCode(userID: UUID(), code: "OLD") == nil)
            #expect(try await store.applyPromoCode(userID: UUID(), code: "NOPE") == nil)
        }
    }

    @Test func duplicateCodesAreRefusedAndListingShowsOnlyUnexpiredOnes() async throws {
        try await withRidesStore { store async throws in
            let params = InternalPromoCreateParams(code: "B", description: "bee", percentOff: 15,
                                                   expiresAt: Date().addingTimeInterval(3600), createdBy: UUID())
            let created = try #require(try await store.createPromoCode(params))
            #expect(created.code == "B" && created.description == "bee" && created.percentOff == 15)
            #expect(abs(created.expiresAt.timeIntervalSince(params.expiresAt)) < 0.001)
            #expect(try await store.createPromoCode(params) == nil)
            try await store.makePromo("A", percentOff: 10)
            try await store.makePromo("GONE", percentOff: 10, expiresIn: -1)
            #expect(try await store.unexpiredPromoCodes().map(\.code) == ["A", "B"])
        }
    }
}
