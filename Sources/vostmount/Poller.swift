import Foundation

/// A thread that calls `onTick` every `interval` until stopped: it takes in other writers'
/// commits (within the one second the mount promises), commits a quiet batch, and refreshes
/// the index folders. Exit signals stay blocked on it, so the request loop gets them.
final class Poller: @unchecked Sendable {
    // @unchecked: `running` is only touched under `lock`.
    private let lock = NSLock()
    private var running = true
    private var started = false
    private let done = DispatchSemaphore(value: 0)
    var onTick: (@Sendable () -> Void)?

    static let interval: TimeInterval = 0.25

    func start() {
        lock.lock()
        started = true
        lock.unlock()
        Signals.startHelper(named: "vostmount-poll") { [self] in
            while isRunning {
                Thread.sleep(forTimeInterval: Self.interval)
                if isRunning { onTick?() }
            }
            done.signal()
        }
    }

    private var isRunning: Bool {
        lock.lock()
        defer { lock.unlock() }
        return running
    }

    /// Stops the thread and waits for a tick in progress to end.
    func stop() {
        lock.lock()
        let wait = running && started
        running = false
        lock.unlock()
        if wait { done.wait() }
    }
}
