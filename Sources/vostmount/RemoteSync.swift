import Foundation
import Logging
import SnapshotFS

/// Keeps the mounted branch in step with a Git remote, on a thread of its own: pushes after
/// every commit, fetches every `interval`, merges what the remote has (`Store.merge`), and
/// retries with capped backoff while the remote cannot be reached.
///
/// The network never holds a request: requests only read `status` and call `nudge`, both of
/// which take `condition` for a few instructions. Fetches, merges and pushes run on this
/// thread with no lock of ours held (the merge takes `vost.lock` only to move the ref), one
/// at a time. Concurrency: `condition` guards every `var` below; lock order: `condition`
/// is never held while taking another lock of the mount. What is not `private` here is
/// shared with `RemoteSync+Unmount.swift` and `RemoteSync+Status.swift` only.
final class RemoteSync: @unchecked Sendable {
    // @unchecked: every mutable field is under `condition`.
    let remote: Remote
    let branch: String
    let interval: TimeInterval
    /// A read-only mount follows the remote (fast-forwards) and never commits or pushes.
    let readOnly: Bool
    let logger: Logger
    /// Called (on this thread) after a fetch moved the branch, so the mount shows it at once.
    var onBranchMoved: (@Sendable () -> Void)?
    /// Called (on this thread) with what each fetch found on the remote, before it is merged.
    var onFetched: (@Sendable (ObjectID) -> Void)?
    /// Called (on this thread) with the conflict copies a merge made.
    var onConflicts: (@Sendable ([RepoPath]) -> Void)?

    let condition = NSCondition()
    private var status = Status()
    var stopping = false
    /// `stop`'s own last push is running: its command is not killed at start.
    var lastPush = false
    /// A commit was made: push without waiting for the next fetch.
    private var kicked = false
    private var nextFetch = Date.distantPast
    /// While failing: no attempt before this.
    private var retryAt = Date.distantPast
    private var failures = 0
    /// The git process running now (its own process group), killed by `stop`.
    var child: pid_t = 0
    private var tagsToPush = Set<String>()
    private var tagsToDelete = Set<String>()
    /// Tags this mount pushed: `rmdir` deletes only these on the remote.
    private var pushedTags = Set<String>()
    /// Tags in the push running now: an `rmdir` meanwhile must delete them after it.
    private var tagsInFlight = Set<String>()
    let finished = DispatchSemaphore(value: 0)
    var started = false

    /// Fetch every this many seconds unless told otherwise (see docs/benchmarks.md for what
    /// an idle fetch costs).
    static let defaultFetchInterval: TimeInterval = 15
    /// One git command may take this long before it is killed (a link that hangs).
    static let commandTimeout: TimeInterval = 120
    /// Backoff while the remote fails: 1, 2, 4... seconds, at most this.
    static let maxBackoff: TimeInterval = 60

    init(remote: Remote, branch: String, interval: TimeInterval, readOnly: Bool = false, logger: Logger) {
        self.remote = remote
        self.branch = branch
        self.interval = interval
        self.readOnly = readOnly
        self.logger = logger
    }

    var current: Status {
        condition.lock()
        defer { condition.unlock() }
        return status
    }

    func start() {
        condition.lock()
        started = true
        condition.unlock()
        Signals.startHelper(named: "vostmount-sync") { [self] in
            run()
            finished.signal()
        }
    }

    /// A commit was made (or a tag): push soon, backoff permitting.
    func nudge() {
        condition.lock()
        kicked = true
        condition.signal()
        condition.unlock()
    }

    /// `mkdir @/tags/NAME`: pushed with the branch.
    func tagCreated(_ name: String) {
        condition.lock()
        tagsToDelete.remove(name)
        tagsToPush.insert(name)
        condition.unlock()
        nudge()
    }

    /// `rmdir @/tags/NAME`: deleted on the remote only if this mount pushed it.
    func tagDeleted(_ name: String) {
        condition.lock()
        tagsToPush.remove(name)
        if pushedTags.contains(name) || tagsInFlight.contains(name) { tagsToDelete.insert(name) }
        condition.unlock()
        nudge()
    }

    // MARK: The loop

    private func run() {
        condition.lock()
        while !stopping {
            let now = Date()
            let due = max(kicked ? now : nextFetch, retryAt)
            if due > now {
                _ = condition.wait(until: min(due, now.addingTimeInterval(Self.maxBackoff)))
                continue
            }
            let fetchFirst = now >= nextFetch
            kicked = false
            status.syncingSince = now
            condition.unlock()
            cycle(fetchFirst: fetchFirst)
            condition.lock()
            status.syncingSince = nil
        }
        condition.unlock()
    }

    /// One round: fetch and merge when due, then push what the remote lacks; a rejected push
    /// fetches, merges and pushes again (a few times, with a short random pause).
    private func cycle(fetchFirst: Bool) {
        do {
            if fetchFirst { try fetchAndMerge() }
            for attempt in 0..<5 {
                if isStopping { return }
                guard try push() else {
                    usleep(UInt32.random(in: 50_000...250_000) * UInt32(attempt + 1))
                    try fetchAndMerge()
                    continue
                }
                break
            }
            succeeded()
        } catch {
            failed(error)
        }
    }

    private var isStopping: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopping
    }

    private func setChild(_ pid: pid_t) {
        condition.lock()
        child = pid
        // `stop` may have come while the command was being started (but not its own push).
        if stopping, !lastPush { kill(-pid, SIGKILL) }
        condition.unlock()
    }

    /// Runs one git command of the sync as `step`, so that `@/status` can say while it hangs.
    private func running<R>(_ step: String, _ body: () throws -> R) rethrows -> R {
        condition.lock()
        status.step = (step, Date())
        condition.unlock()
        defer {
            condition.lock()
            status.step = nil
            condition.unlock()
        }
        return try body()
    }

    private func fetchAndMerge() throws {
        let previous = (try? remote.tracking(branch)) ?? nil
        let fetched = try running("fetch from \(remote.name)") {
            try remote.fetch(branch: branch, timeout: Self.commandTimeout) { [self] in setChild($0) }
        }
        setChild(0)
        condition.lock()
        status.lastFetch = Date()
        status.fetchedTip = fetched
        nextFetch = Date().addingTimeInterval(interval)
        condition.unlock()
        // Surprises are said, in the log once and in `@/status` until the next one. Either way
        // nothing local is lost: a rewritten history is merged (which keeps both sides), and a
        // deleted branch is pushed back by this mount's next commit.
        let label = "\(remote.name)/\(branch)"
        if fetched == nil, let previous {
            notice("\(label) is gone from the server (the branch was deleted, or the repository replaced; it was at "
                   + "\(previous.shortHex)): nothing here is lost, and this mount's next commit pushes the branch back")
        } else if let fetched, let previous, fetched != previous, !(try remote.store.contains(previous, in: fetched)) {
            notice("\(label) is not a descendant of what was fetched before: history was rewritten on the server "
                   + "(\(previous.shortHex) -> \(fetched.shortHex)); merged, so nothing is lost on either side")
        }
        guard let fetched else { return }
        onFetched?(fetched)
        let outcome = try remote.store.merge(fetched, into: branch, label: "\(remote.name)/\(branch)", fastForwardOnly: readOnly)
        switch outcome.kind {
        case .upToDate: return
        case .fastForward:
            logger.info("took in \(remote.name)/\(branch) at \(fetched.shortHex) (fast-forward)")
        case .merged:
            logger.info("merged \(remote.name)/\(branch) (\(fetched.shortHex)) into \(outcome.tip.shortHex)")
            if !outcome.conflicts.isEmpty { onConflicts?(outcome.conflicts) }
        }
        onBranchMoved?()
    }

    /// Records a server surprise for `@/status`, and logs it when it is new.
    private func notice(_ text: String) {
        condition.lock()
        let new = status.notice?.hasSuffix(text) != true
        if new { status.notice = "\(StatusTime.iso(Date())): \(text)" }
        condition.unlock()
        if new { logger.warning("\(text)") }
    }

    /// Pushes the branch's tip (and pending tags) if the remote lacks anything; false when
    /// the remote rejected it because it has commits this branch lacks.
    func push(timeout: TimeInterval = RemoteSync.commandTimeout) throws -> Bool {
        if readOnly { return true }
        let store = remote.store
        guard let tip = try store.branches.get(branch)?.commitID else { return true }
        condition.lock()
        let tags = Array(tagsToPush).sorted()
        let deleting = Array(tagsToDelete).sorted()
        tagsInFlight = Set(tags)
        condition.unlock()
        defer {
            condition.lock()
            tagsInFlight = []
            condition.unlock()
        }
        let tracked = try remote.tracking(branch)
        let branchUpToDate = try tracked.map { try store.contains(tip, in: $0) } ?? false
        if branchUpToDate, tags.isEmpty, deleting.isEmpty { return true }
        let result = try running("push to \(remote.name)") {
            try remote.push(branch: branch, commit: branchUpToDate ? tracked! : tip, tags: tags,
                            deletingTags: deleting, timeout: timeout) { [self] in setChild($0) }
        }
        setChild(0)
        guard result == .pushed else {
            logger.info("push to \(remote.name) rejected (the remote has new commits): fetching")
            return false
        }
        condition.lock()
        status.lastPush = Date()
        status.pushedTip = branchUpToDate ? tracked : tip
        tagsToPush.subtract(tags)
        pushedTags.formUnion(tags)
        tagsToDelete.subtract(deleting)
        pushedTags.subtract(deleting)
        condition.unlock()
        if !branchUpToDate { logger.info("pushed \(branch) \(tip.shortHex) to \(remote.name)") }
        return true
    }

    private func succeeded() {
        condition.lock()
        failures = 0
        retryAt = .distantPast
        status.error = nil
        condition.unlock()
    }

    /// Backoff doubles from 1 s to `maxBackoff`, with jitter so that mounts failing
    /// together do not retry together.
    func failed(_ error: Error) {
        let text = (error as? SnapshotError).map { if case .remote(let m) = $0 { m } else { $0.description } } ?? "\(error)"
        condition.lock()
        failures += 1
        let delay = min(Self.maxBackoff, pow(2, Double(min(failures - 1, 10)))) * Double.random(in: 0.8...1.2)
        retryAt = Date().addingTimeInterval(delay)
        nextFetch = min(nextFetch, retryAt)
        let stopping = self.stopping
        status.error = text
        condition.unlock()
        if !stopping { logger.warning("sync with \(remote.name) failed (next try in \(Int(delay.rounded())) s): \(text)") }
    }
}
