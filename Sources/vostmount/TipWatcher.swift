import Foundation
import Logging
import SnapshotFS

/// The mounted branch's current tip, re-read every `interval` so that commits made by other
/// processes (vost, git, another mount) show without remounting. Reading the ref is a file
/// read; the snapshot is swapped atomically and readers never wait for the poll.
final class TipWatcher: @unchecked Sendable {
    // @unchecked: `current` is only touched under `lock`; `running` likewise.
    private let store: Store
    private let branch: String
    private let lock = NSLock()
    private var current: Snapshot
    private var running = true
    private let logger: Logger
    /// Called (from the watcher's thread) when the tip moved, with the old and new snapshots.
    var onChange: (@Sendable (Snapshot, Snapshot) -> Void)?
    /// Called on every poll, moved or not.
    var onTick: (@Sendable () -> Void)?

    static let interval: TimeInterval = 0.25

    init(store: Store, branch: String, logger: Logger) throws {
        self.store = store
        self.branch = branch
        self.logger = logger
        current = try store.branches[branch]
    }

    var snapshot: Snapshot {
        lock.lock()
        defer { lock.unlock() }
        return current
    }

    /// Re-reads the branch now; returns the snapshot in force afterwards.
    @discardableResult
    func refresh() -> Snapshot {
        let old = snapshot
        guard let fresh = try? store.branches.get(branch) else { return old }
        guard fresh.commitID != old.commitID else { return old }
        lock.lock()
        current = fresh
        lock.unlock()
        logger.debug("branch \(branch) moved to \(fresh.commitID.shortHex)")
        onChange?(old, fresh)
        return fresh
    }

    func start() {
        let thread = Thread { [self] in
            Signals.setExitSignals(blocked: true)
            while isRunning {
                Thread.sleep(forTimeInterval: Self.interval)
                refresh()
                onTick?()
            }
        }
        thread.name = "vostmount-tip"
        thread.start()
    }

    private var isRunning: Bool {
        lock.lock()
        defer { lock.unlock() }
        return running
    }

    func stop() {
        lock.lock()
        running = false
        lock.unlock()
    }
}
