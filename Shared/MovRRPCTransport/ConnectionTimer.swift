import NIOCore

/// A connection's one deadline (read, idle, a call's deadline), kept by one scheduled task that
/// fires at or before it and is scheduled again for the time left. Moving the deadline, as
/// every request does several times, touches no event-loop task unless the new deadline is
/// earlier than the task's; scheduling and cancelling tasks per request showed in profiles
/// (cancelling searches the loop's timer queue). The closure a task runs is asked for only when
/// a task is scheduled (an autoclosure): a closure made per call, most of which schedule nothing,
/// cost a heap allocation each. Confined to the connection's event loop.
struct ConnectionTimer {
    /// The longest the task waits before it looks at the deadline again.
    let step: TimeAmount
    private(set) var deadline: NIODeadline?
    private var task: Scheduled<Void>?
    private var firesAt: NIODeadline?

    init(step: TimeAmount) {
        self.step = max(.milliseconds(100), step)
    }

    /// Sets the deadline; the closure `fire` gives runs on `loop` at or before it and must call
    /// ``fired(on:fire:)``. `fire` is evaluated only when a task is scheduled.
    mutating func set(_ newDeadline: NIODeadline, on loop: any EventLoop, fire: @autoclosure () -> () -> Void) {
        deadline = newDeadline
        // A task already due at or before the new deadline looks again when it fires.
        if let firesAt, firesAt <= newDeadline { return }
        task?.cancel()
        schedule(at: min(newDeadline, .now() + step), on: loop, fire())
    }

    /// No deadline until the next ``set(_:on:fire:)``; the pending task, if any, finds none.
    mutating func clear() {
        deadline = nil
    }

    /// Clears the deadline and cancels the task (the connection is going away).
    mutating func cancel() {
        deadline = nil
        task?.cancel()
        task = nil
        firesAt = nil
    }

    /// For `fire`: true when the deadline has passed (it is cleared then); otherwise the task is
    /// scheduled again for the time left and false is returned.
    mutating func fired(on loop: any EventLoop, fire: @autoclosure () -> () -> Void) -> Bool {
        task = nil
        firesAt = nil
        guard let deadline else { return false }
        let now = NIODeadline.now()
        guard deadline <= now else {
            schedule(at: min(deadline, now + step), on: loop, fire())
            return false
        }
        self.deadline = nil
        return true
    }

    private mutating func schedule(at instant: NIODeadline, on loop: any EventLoop, _ fire: @escaping () -> Void) {
        firesAt = instant
        task = loop.assumeIsolated().scheduleTask(deadline: instant, fire)
    }
}
