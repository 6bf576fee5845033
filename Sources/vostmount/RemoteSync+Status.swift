import Foundation
import SnapshotFS

/// What `@/status` shows of the sync, read from `RemoteSync.current` and the refs.
extension RemoteSync {
    /// What `@/status` shows of the sync (`ahead`/`behind` are counted from the refs when it
    /// is read: see `counts`).
    struct Status {
        var lastFetch: Date?
        var lastPush: Date?
        /// What the last fetch found on the remote, and the last push sent.
        var fetchedTip: ObjectID?
        var pushedTip: ObjectID?
        /// A fetch or push running since then; nil between them.
        var syncingSince: Date?
        /// The last surprise from the server (a deleted branch, rewritten history), with when
        /// it was seen; kept until another one replaces it.
        var notice: String?
        /// The git command running now (`fetch from origin`), and since when.
        var step: (name: String, since: Date)?
        var error: String?
    }

    /// A step silent for this long is said in `@/status` while it runs.
    static let stallAfter: TimeInterval = 5

    /// `error` as `@/status` shows it: a step that has had no answer for `stallAfter`
    /// seconds, else the last error.
    func shownError(now: Date = Date()) -> String? {
        let status = current
        if let step = status.step, now.timeIntervalSince(step.since) >= Self.stallAfter {
            return "\(step.name): no answer for \(Int(now.timeIntervalSince(step.since))) s"
        }
        return status.error
    }

    /// Counted from the refs now, not at the last fetch: `ahead`, the branch's commits the
    /// remote-tracking ref lacks (all of them before the first fetch or push); `behind`, the
    /// tracking ref's commits the branch lacks, as of the last fetch. nil while the branch
    /// has no commit.
    func counts() -> (ahead: Int, behind: Int)? {
        let store = remote.store
        do {
            guard let tip = try store.branches.get(branch)?.commitID else { return nil }
            return try store.aheadBehind(tip, try remote.tracking(branch))
        } catch {
            return nil
        }
    }
}
