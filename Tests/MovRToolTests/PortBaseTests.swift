@testable import MovRTool
import Testing

/// Local stacks pick port bases outside the kernel's ephemeral range, where an outgoing
/// connection of any process could take a port between the free check and the bind.
@Suite struct PortBaseTests {
    let ephemeral = 32_768...60_999

    @Test func basesBelowTheEphemeralRangeAreKept() {
        #expect(LocalStack.nextUsableBase(from: 10_000, avoiding: ephemeral) == 10_000)
        #expect(LocalStack.nextUsableBase(from: 32_568, avoiding: ephemeral) == 32_568)  // ends at 32 767
    }

    @Test func basesReachingIntoItMovePastIt() {
        #expect(LocalStack.nextUsableBase(from: 32_569, avoiding: ephemeral) == 61_000)
        #expect(LocalStack.nextUsableBase(from: 45_000, avoiding: ephemeral) == 61_000)
        #expect(LocalStack.nextUsableBase(from: 61_000, avoiding: ephemeral) == 61_000)
    }

    @Test func basesPastTheTopWrapToTenThousand() {
        #expect(LocalStack.nextUsableBase(from: 65_400, avoiding: ephemeral) == 10_000)
        // A range reaching the top leaves only what is below it.
        #expect(LocalStack.nextUsableBase(from: 40_000, avoiding: 32_768...65_535) == 10_000)
    }

    @Test func aFreeBaseIsNeverInTheEphemeralRange() {
        let range = LocalStack.ephemeralPorts()
        for preferred in stride(from: 10_000, to: 65_000, by: 3_700) {
            let base = LocalStack.freePortBase(preferred: preferred, attempts: 3)
            #expect(!range.overlaps(base...(base + LocalStack.portSpan - 1)), "\(preferred) -> \(base)")
        }
    }
}
