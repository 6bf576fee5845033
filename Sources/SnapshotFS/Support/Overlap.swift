import Dispatch

/// Two pieces of CPU work at once: one on a Dispatch thread, the other on the caller's.
enum Overlap {
    /// Runs `background` on another thread while `foreground` runs here, and returns when
    /// both are done (also when `foreground` throws). The two may read the same memory but
    /// must not touch the same mutable state: the caller vouches for that, which is why the
    /// closures need not be `Sendable`. The semaphore orders everything `background` did
    /// before this returns.
    static func run(_ background: () -> Void, alongside foreground: () throws -> Void) rethrows {
        try withoutActuallyEscaping(background) { escaped in
            let job = Job(run: escaped)
            let done = DispatchSemaphore(value: 0)
            DispatchQueue.global().async {
                job.run?()
                // Dropped before the signal: Dispatch may release this block after `run`
                // returns, and `withoutActuallyEscaping` traps if the closure outlives it.
                job.run = nil
                done.signal()
            }
            defer { done.wait() }
            try foreground()
        }
    }

    private final class Job: @unchecked Sendable {
        var run: (() -> Void)?
        init(run: @escaping () -> Void) { self.run = run }
    }
}
