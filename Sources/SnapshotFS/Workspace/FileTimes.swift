import Foundation

/// A time to the nanosecond, as `utimensat` sets it and `stat` shows it: a `Date` (a
/// double) cannot keep `touch -d @200000000.2` exact.
public struct Timestamp: Sendable, Equatable, Comparable {
    public var seconds: Int
    public var nanoseconds: Int

    public init(seconds: Int, nanoseconds: Int) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    /// The time now, from the realtime clock.
    public static var now: Timestamp {
        var ts = Glibc.timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(seconds: ts.tv_sec, nanoseconds: ts.tv_nsec)
    }

    /// A commit's time (whole seconds in Git), or any `Date`.
    public init(_ date: Date) {
        let value = date.timeIntervalSince1970
        let whole = value.rounded(.down)
        self.init(seconds: Int(whole), nanoseconds: min(999_999_999, Int(((value - whole) * 1e9).rounded())))
    }

    public var timespec: Glibc.timespec { Glibc.timespec(tv_sec: seconds, tv_nsec: nanoseconds) }

    public static func < (a: Timestamp, b: Timestamp) -> Bool {
        (a.seconds, a.nanoseconds) < (b.seconds, b.nanoseconds)
    }
}

/// The times a node of the branch shows while the mount runs (Git stores none): each nil
/// means "the time of the commit shown".
public struct FileTimes: Sendable, Equatable {
    /// Content or names changed, or `utimensat` set it.
    public var modified: Timestamp?
    /// Set only by `utimensat` (reads do not move it: the mount reports no atime updates,
    /// as with `noatime`); shows `modified` while unset.
    public var accessed: Timestamp?
    /// Any change, the times' own included (`ctime`).
    public var changed: Timestamp?

    public init(modified: Timestamp? = nil, accessed: Timestamp? = nil, changed: Timestamp? = nil) {
        self.modified = modified
        self.accessed = accessed
        self.changed = changed
    }
}
