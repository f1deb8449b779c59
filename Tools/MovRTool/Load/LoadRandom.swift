/// The load engine's generator for its choices (operation, city, vehicle, rider, coordinates):
/// xoshiro256** (Blackman and Vigna), seeded once from the system's random source. The
/// standard library's `SystemRandomNumberGenerator` makes a `getrandom` system call for every
/// number, about five per request on the ride cycle; these choices need no cryptographic
/// strength, and a load generator should spend its CPU on requests (it shares the machine with
/// what it measures). Secrets (passwords, idempotency keys) keep using the system's source.
struct LoadRandom: RandomNumberGenerator {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    init() {
        var system = SystemRandomNumberGenerator()
        var seed: (UInt64, UInt64, UInt64, UInt64) = (system.next(), system.next(), system.next(), system.next())
        // The all-zero state never leaves zero; the system's source will not give it, but be sure.
        if seed == (0, 0, 0, 0) { seed.0 = 0x9E37_79B9_7F4A_7C15 }
        state = seed
    }

    init(state: (UInt64, UInt64, UInt64, UInt64)) {
        precondition(state != (0, 0, 0, 0), "xoshiro256** needs a non-zero state")
        self.state = state
    }

    mutating func next() -> UInt64 {
        let result = rotate(state.1 &* 5, 7) &* 9
        let shifted = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= shifted
        state.3 = rotate(state.3, 45)
        return result
    }

    private func rotate(_ value: UInt64, _ count: UInt64) -> UInt64 {
        value << count | value >> (64 - count)
    }
}
