import Foundation
import NIOConcurrencyHelpers

/// Runs `body` over `items` with at most `limit` at once, updating a progress line every
/// second (`label count/total, rate`). Returns how many calls returned false (failed).
func forEachConcurrently<Item: Sendable>(_ items: [Item], limit: Int, label: String,
                                         _ body: @escaping @Sendable (Item) async -> Bool) async -> Int {
    guard !items.isEmpty else { return 0 }
    let done = NIOLockedValueBox((count: 0, failed: 0))
    let progress = ProgressLine()
    let started = ContinuousClock.now
    @Sendable func show() {
        let (count, failed) = done.withLockedValue { ($0.count, $0.failed) }
        let rate = Double(count) / max((ContinuousClock.now - started).inSeconds, 1e-9)
        progress.update("\(label) \(count)/\(items.count)  \(String(format: "%.1f", rate))/s"
            + (failed > 0 ? "  failed \(failed)" : ""))
    }
    let ticker = Task {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            if !Task.isCancelled { show() }
        }
    }
    await withTaskGroup(of: Bool.self) { group in
        var next = 0
        func record(_ ok: Bool) {
            done.withLockedValue { $0.count += 1; if !ok { $0.failed += 1 } }
        }
        while next < min(limit, items.count) {
            let item = items[next]
            group.addTask { await body(item) }
            next += 1
        }
        for await ok in group {
            record(ok)
            if next < items.count {
                let item = items[next]
                group.addTask { await body(item) }
                next += 1
            }
        }
    }
    ticker.cancel()
    show()
    progress.finish()
    return done.withLockedValue { $0.failed }
}
