import Foundation
import Logging
import SnapshotFS

/// Brings the Git LFS objects a `--remote` mount lacks from the remote's LFS endpoint (see
/// `Remote.fetchLFSObjects`), so that a file another machine stored in LFS reads here as its
/// content, not as an error.
///
/// Two ways, as `--lfs-fetch` says: with `all` (the default) the objects of each new tip
/// the sync fetched, on a thread of this class, one tip at a time (a newer tip replaces one
/// still waiting); and always, an object still missing when a program opens its file: that
/// open waits for it (`ensure`), at most `timeout` seconds, and several opens of one object
/// wait for one download. `stat` never waits: a pointer gives its object's size.
///
/// Concurrency: `condition` guards every `var` below; it is never held while a git command
/// runs nor while taking another lock.
final class LFSDownloads: @unchecked Sendable {
    // @unchecked: every mutable field is under `condition`.
    enum Mode: String, CaseIterable, Sendable {
        /// The objects of every new tip, in the background, and any other on open.
        case all
        /// Only what a program opens.
        case open
    }

    let remote: Remote
    let mode: Mode
    /// How long an open waits for its object.
    let timeout: TimeInterval
    let logger: Logger

    /// What `@/status` shows.
    struct Status {
        /// A download running since then (a tip's objects, or an object an open waits for).
        var fetchingSince: Date?
        /// The last download that failed, with why; cleared by the next that succeeds.
        var error: String?
    }

    private let condition = NSCondition()
    private var status = Status()
    /// Downloads running now, by what they fetch, with their start: `fetchingSince` is the oldest.
    private var running: [String: Date] = [:]
    /// The newest fetched tip whose objects are not fetched yet, and the last one that was.
    private var waitingTip: ObjectID?
    private var fetchedTip: ObjectID?
    /// A tip whose objects failed to come, and when: tried again after `retryAfter`, not at
    /// every fetch (an LFS server that is down would fill the log).
    private var failedTip: (tip: ObjectID, at: Date)?
    /// Objects being fetched for an open; their waiters sleep on `condition`.
    private var inFlight: Set<String> = []
    /// The git processes running now (each a process group), killed by `stop`.
    private var children: Set<pid_t> = []
    private var stopping = false
    private var threadStarted = false
    private let finished = DispatchSemaphore(value: 0)

    /// A tip's objects may take this long (they may be large; a hung link is still ended).
    static let tipTimeout: TimeInterval = 3600
    static let retryAfter: TimeInterval = 60
    /// `--lfs-timeout`'s default.
    static let defaultTimeout: TimeInterval = 60

    init(remote: Remote, mode: Mode, timeout: TimeInterval, logger: Logger) {
        self.remote = remote
        self.mode = mode
        self.timeout = timeout
        self.logger = logger
    }

    var current: Status {
        condition.lock()
        defer { condition.unlock() }
        var shown = status
        shown.fetchingSince = running.values.min()
        return shown
    }

    // MARK: A tip's objects, in the background

    /// The sync fetched `tip` from the remote: with `all`, fetch its objects soon.
    func tipFetched(_ tip: ObjectID) {
        guard mode == .all else { return }
        condition.lock()
        defer { condition.unlock() }
        guard !stopping, tip != fetchedTip else { return }
        if let failedTip, failedTip.tip == tip, Date().timeIntervalSince(failedTip.at) < Self.retryAfter { return }
        waitingTip = tip
        if !threadStarted {
            threadStarted = true
            Signals.startHelper(named: "vostmount-lfs") { [self] in
                fetchTips()
                finished.signal()
            }
        }
        condition.broadcast()
    }

    private func fetchTips() {
        condition.lock()
        while !stopping {
            guard let tip = waitingTip else {
                condition.wait()
                continue
            }
            waitingTip = nil
            condition.unlock()
            // A repository that never used LFS pays nothing: its tip's top tree, read here,
            // turns LFS on if its attributes name it (see `Store.noteLFSAttributes`).
            let wanted = ((try? remote.store.tree(remote.store.commit(tip).tree)) != nil) && remote.store.usesLFS
            let succeeded = !wanted || download("objects of \(tip.shortHex)", timeout: Self.tipTimeout) {
                try remote.fetchLFSObjects(of: tip, timeout: Self.tipTimeout, onStart: $0)
            }
            condition.lock()
            if succeeded { fetchedTip = tip } else { failedTip = (tip, Date()) }
        }
        condition.unlock()
    }

    // MARK: An object an open waits for

    /// Returns once the local store has `pointer`'s object; throws `EIO` with the reason
    /// when it cannot be fetched within `timeout`.
    func ensure(_ pointer: LFSPointer) throws {
        let store = remote.store
        if !store.lacksLFSObject(pointer) { return }
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        while inFlight.contains(pointer.oid), !stopping {
            guard condition.wait(until: deadline) else { break }
        }
        if !store.lacksLFSObject(pointer) {
            condition.unlock()
            return
        }
        if stopping || inFlight.contains(pointer.oid) {
            condition.unlock()
            throw SnapshotError.io(errno: EIO, "LFS object \(pointer.oid.prefix(12)): no answer from \(remote.name) "
                                              + "within \(Int(timeout)) s (another open is still fetching it)")
        }
        inFlight.insert(pointer.oid)
        condition.unlock()
        defer {
            condition.lock()
            inFlight.remove(pointer.oid)
            condition.broadcast()
            condition.unlock()
        }
        let left = max(1, deadline.timeIntervalSinceNow)
        var failure: String?
        _ = download("object \(pointer.oid.prefix(12))", timeout: left) {
            do { try remote.fetchLFSObject(pointer, timeout: left, onStart: $0) } catch {
                failure = Self.text(error)
                throw error
            }
        }
        if let failure { throw SnapshotError.io(errno: EIO, failure) }
        store.noteFetchedLFSObject(pointer)
    }

    // MARK: Running one download

    /// Runs one git-lfs command as `what`, so that `@/status` shows it while it runs and its
    /// failure after; true when it succeeded.
    private func download(_ what: String, timeout: TimeInterval, _ body: (@escaping (pid_t) -> Void) throws -> Void) -> Bool {
        let started = Date()
        condition.lock()
        running[what] = started
        condition.unlock()
        var pid: pid_t = 0
        defer {
            condition.lock()
            running[what] = nil
            if pid != 0 { children.remove(pid) }
            condition.unlock()
        }
        do {
            try body { [self] child in
                condition.lock()
                pid = child
                children.insert(child)
                if stopping { kill(-child, SIGKILL) }
                condition.unlock()
            }
            condition.lock()
            status.error = nil
            condition.unlock()
            let seconds = Date().timeIntervalSince(started)
            logger.info("LFS: fetched \(what) from \(remote.name) in \(String(format: "%.1f", seconds)) s")
            return true
        } catch {
            let text = Self.text(error)
            condition.lock()
            // A download `stop` killed is no news.
            let killed = stopping
            if !killed { status.error = "\(StatusTime.iso(Date())): \(text)" }
            condition.unlock()
            if !killed { logger.warning("\(text)") }
            return false
        }
    }

    static func text(_ error: Error) -> String {
        guard let error = error as? SnapshotError else { return "\(error)" }
        if case .remote(let message) = error { return message }
        return error.description
    }

    // MARK: Unmount

    /// Kills the downloads in flight and ends the thread; opens still waiting fail at once.
    func stop() {
        condition.lock()
        stopping = true
        for child in children { kill(-child, SIGKILL) }
        let wait = threadStarted
        condition.broadcast()
        condition.unlock()
        if wait { finished.wait() }
    }
}
