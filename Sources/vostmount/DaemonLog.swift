import Foundation
import Logging
import SnapshotFS
import Synchronization

/// Where a mount's log lines go. A daemon has no terminal, so what fails after the mount
/// (a commit at unmount, a push, a fetch) must land somewhere a person finds it: `--log FILE`,
/// else `vostmount.log` in the repository's directory, beside `vost.lock` (rotated to
/// `vostmount.log.1` past 1 MiB at each mount). Lines also go to stderr while there is one (in
/// the foreground, and before a daemon detaches); a daemon's stderr then becomes the file,
/// so a crash's last words land there too. A repository the user cannot write has no
/// default log: stderr only.
enum DaemonLog {
    static let defaultName = "vostmount.log"
    static let rotateAt: off_t = 1 << 20

    /// The log file, opened to append: `explicit` as given, else the default beneath the
    /// repository (never through a symlink a repository's author put there).
    static func open(explicit: String?, repository: String) throws -> (fd: Int32, path: String)? {
        if let explicit {
            let fd = Glibc.open(explicit, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw Preflight.Failure("cannot open log file \(explicit): \(String(cString: strerror(errno)))") }
            return (fd, explicit)
        }
        guard let fd = try? Beneath.open(defaultName, in: repository, flags: O_WRONLY | O_APPEND | O_CREAT, mode: 0o644) else {
            return nil
        }
        var info = stat()
        if fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_size > rotateAt,
           let rotated = try? Beneath.rotate(defaultName, to: defaultName + ".1", in: repository), rotated,
           let fresh = try? Beneath.open(defaultName, in: repository, flags: O_WRONLY | O_APPEND | O_CREAT, mode: 0o644) {
            close(fd)
            return (fresh, repository + "/" + defaultName)
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            return nil
        }
        return (fd, repository + "/" + defaultName)
    }

    /// Sends every logger of the process (the engine's too) to stderr and to `file`.
    static func bootstrap(file: Int32?, level: Logger.Level) {
        LoggingSystem.bootstrap { label in
            var handler = MountLogHandler(label: label, file: file)
            handler.logLevel = level
            return handler
        }
    }

    /// Set once a daemon's stderr is the log file (after it detached): from then on a line
    /// goes there once, not twice.
    static let stderrIsFile = Atomic<Bool>(false)
}

/// Log lines to the log file and to stderr (until stderr is the log file), one `write`
/// each (O_APPEND keeps lines whole between threads and processes), formatted as
/// swift-log's stream handler formats them.
struct MountLogHandler: LogHandler {
    let label: String
    let file: Int32?
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    init(label: String, file: Int32?) {
        self.label = label
        self.file = file
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var now = time(nil)
        var local = tm()
        localtime_r(&now, &local)
        var text = [CChar](repeating: 0, count: 32)
        strftime(&text, text.count, "%Y-%m-%dT%H:%M:%S%z", &local)
        let stamp = String(cString: text)
        let line = Array("\(stamp) \(event.level) \(label): [\(event.source)] \(event.message)\n".utf8)
        line.withUnsafeBytes { bytes in
            if let file { _ = write(file, bytes.baseAddress, bytes.count) }
            if file == nil || !DaemonLog.stderrIsFile.load(ordering: .relaxed) { _ = write(2, bytes.baseAddress, bytes.count) }
        }
    }
}
