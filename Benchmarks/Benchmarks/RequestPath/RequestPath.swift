import Benchmark
import Foundation
import MovRAPI
import MovRInternalAPI
import MovRRPC
import NIOCore

// The request path's inner loops without a network: writing a 25-vehicle result as JSON (what
// the vehicles service sends for `vehicles.list`), reading it back as a caller does, scanning the
// reply as the gateway does before forwarding its result, and one JSON-RPC request through the
// dispatcher (parse, strict params decoding, handler, result and envelope writing). Allocation
// counts are what to watch: a change that adds one per vehicle or per request shows here before
// it shows in throughput. Results: docs/benchmarks.md, "Micro-benchmarks".

enum Fixture {
    static let page = VehiclesListResult(
        vehicles: (0..<25).map { index in
            Vehicle(id: UUID(), type: .scooter, city: "new york", region: "us-east1", ownerID: UUID(),
                    status: .available, battery: 20 + index,
                    location: Location(latitude: 40.7 + Double(index) * 0.001_234_567_891_234_5,
                                       longitude: -74.0 + Double(index) * 0.002_345_678_912_345_6),
                    color: "green", brand: "Merida", createdAt: Date(timeIntervalSince1970: 1_795_000_000 + Double(index)))
        },
        nextCursor: "AX__________AAAAAAAAAAAAAAAAAAAAAA")

    static let dispatcher: RPCDispatcher = {
        var dispatcher = RPCDispatcher()
        dispatcher.register("vehicles.list", params: VehiclesListParams.self) { _, _ in page }
        return dispatcher
    }()

    /// `value`'s JSON, as its hand-written writer sends it.
    static func bytes(_ value: some JSONByteWritable) -> ByteBuffer {
        var buffer = ByteBuffer()
        var writer = JSONByteWriter(capacity: 10240)
        try! value.writeJSON(into: &writer)
        writer.write(to: &buffer)
        return buffer
    }

    /// The page as the gateway sends it, for the client's side.
    static let pageBytes = bytes(page)

    /// The vehicles service's reply to the gateway around that page: what the gateway scans
    /// before it forwards the result's bytes.
    static let replyBytes: ByteBuffer = {
        var buffer = ByteBuffer(string: #"{"jsonrpc":"2.0","id":1,"result":"#)
        var page = pageBytes
        buffer.writeBuffer(&page)
        buffer.writeString("}")
        return buffer
    }()

    /// The same reply as the dispatcher writes it (result first, then the id).
    static let dispatcherReplyBytes: ByteBuffer = {
        var buffer = ByteBuffer(string: #"{"jsonrpc":"2.0","result":"#)
        var page = pageBytes
        buffer.writeBuffer(&page)
        buffer.writeString(#","id":1}"#)
        return buffer
    }()

    /// The users service's answer to the gateway's session check, which every signed-in call
    /// waits for (the gateway decodes it; it reads itself, `JSONValueReadable`).
    static let sessionBytes = bytes(SessionResult(
        user: User(id: UUID(), username: "rider_0042", email: "rider_0042@example.com", firstName: "Ada",
                   lastName: "Lovelace", city: "new york", region: "us-east1",
                   createdAt: Date(timeIntervalSince1970: 1_795_000_000)),
        roles: ["rider", "fleet_owner"], expiresAt: Date(timeIntervalSince1970: 1_795_086_400.25)))

    /// The vehicles service's answer to `vehicles.reserve` (and `vehicles.release`), which the
    /// rides service decodes for every `rides.start` and `rides.end`.
    static let vehicleBytes = bytes(VehicleResult(vehicle: page.vehicles[0]))

    /// `rides.start` as the gateway sends it to the rides service, which decodes it strictly.
    static let rideStartParams = bytes(InternalRidesStartParams(idempotencyKey: "5b0c3d2e-load-0001",
                                                                riderID: UUID(), vehicleID: UUID()))

    static let request = Array(#"{"jsonrpc":"2.0","id":1,"method":"vehicles.list","params":{"city":"new york","limit":25}}"#.utf8)
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        maxDuration: .seconds(2),
        maxIterations: 100_000
    )

    Benchmark("json: write a 25-vehicle page") { benchmark in
        for _ in benchmark.scaledIterations {
            var buffer = ByteBufferAllocator().buffer(capacity: 10240)
            var writer = JSONByteWriter(capacity: buffer.writableBytes)
            try Fixture.page.writeJSON(into: &writer)
            writer.write(to: &buffer)
            blackHole(buffer)
        }
    }

    // What a caller of vehicles.list does with the reply (RPCClient's typed `call`: parse, then
    // decode leniently); the rides service and the load generator decode results this way.
    Benchmark("json: parse and decode a 25-vehicle page") { benchmark in
        let raw = RawJSON(validated: Fixture.pageBytes)
        for _ in benchmark.scaledIterations {
            blackHole(try raw.parsed().decode(as: VehiclesListResult.self, strict: false))
        }
    }

    Benchmark("json: parse and decode a session result") { benchmark in
        let raw = RawJSON(validated: Fixture.sessionBytes)
        for _ in benchmark.scaledIterations {
            blackHole(try raw.parsed().decode(as: SessionResult.self, strict: false))
        }
    }

    Benchmark("json: parse and decode a reserved vehicle") { benchmark in
        let raw = RawJSON(validated: Fixture.vehicleBytes)
        for _ in benchmark.scaledIterations {
            blackHole(try raw.parsed().decode(as: VehicleResult.self, strict: false))
        }
    }

    Benchmark("json: parse and strictly decode rides.start params") { benchmark in
        let raw = RawJSON(validated: Fixture.rideStartParams)
        for _ in benchmark.scaledIterations {
            blackHole(try raw.parsed().decode(as: InternalRidesStartParams.self, strict: true))
        }
    }

    // What the gateway does with a reply of another shape than the dispatcher's: check the
    // envelope and the result's JSON (JSONScanner) and keep the result as bytes to forward.
    Benchmark("json: scan a 25-vehicle reply to forward it") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try RPCResponseDecoder.decodeRaw(body: Fixture.replyBytes, expectedID: RPCID(1)).get())
        }
    }

    // What it does with the vehicles service's own reply: check the frame, keep the result.
    Benchmark("json: take a 25-vehicle reply by its frame to forward it") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(RPCResponseDecoder.framedResult(body: Fixture.dispatcherReplyBytes, id: RPCID(1), maxBytes: 1 << 20)!)
        }
    }

    // Nothing but the loop: the mallocs the harness itself counts per iteration of a
    // synchronous benchmark (16 with benchmark 1.38.1), to subtract from the counts here.
    Benchmark("baseline: an empty iteration") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(1) }
    }

    // What the rides service does first for every rides.start: derive the ride's id from the
    // rider and the idempotency key (SHA-256 through libcrypto, IdempotentCreate).
    Benchmark("ids: a ride's id from rider and idempotency key") { benchmark in
        let rider = UUID(uuidString: "6f1c2a4e-0b7d-4c1e-9a55-2d3e4f5a6b7c")!
        let key = "5E2A77C4-2B0D-4F3A-9C1E-7D8B6A5F4E3D"
        for _ in benchmark.scaledIterations {
            blackHole(try IdempotentCreate.objectID(.ride, owner: rider, key: key))
        }
    }

    Benchmark("dispatch: vehicles.list request -> 25-vehicle reply") { benchmark in
        let context = RPCContext(requestID: "bench", caller: "gateway")
        let body = ByteBuffer(bytes: Fixture.request)
        for _ in benchmark.scaledIterations {
            blackHole(await Fixture.dispatcher.handle(body: body, context: context))
        }
    }
}
