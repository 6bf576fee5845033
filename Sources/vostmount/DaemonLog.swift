import Foundation
import Logging
import SnapshotFS

/// Where a mount's log lines go. A daemon has no terminal, so what fails after the mount
/// (a commit at unmount, a push, a fetch) must land somewhere a person finds it: `--log FILE`,
/// else `vostmount.log` in the repository's directory, beside `vost.lock` (rotated to
/// `vostmount.log.1` past 1 MiB at each mount). The daemon's stderr is that file too, so a
/// crash's last words land there. In the foreground (`-f`, `-d`) lines go to stderr and the
/// file. A repository the user cannot write has no default log: stderr only.
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

    /// Sends every logger of the process (the engine's too) to stderr, and, in the
    /// foreground, to `file` as well (a daemon's stderr is the file already).
    static func bootstrap(file: Int32?, foreground: Bool, level: Logger.Level) {
        LoggingSystem.bootstrap { label in
            var handler: LogHandler = StreamLogHandler.standardError(label: label)
            if foreground, let file {
                handler = MultiplexLogHandler([handler, FileLogHandler(label: label, fd: file)])
            }
            handler.logLevel = level
            return handler
        }
    }
}

/// Log lines appended to an open file, one `write` each (O_APPEND keeps lines whole
/// between threads and processes), formatted as swift-log's stream handler formats them.
struct FileLogHandler: LogHandler {
    let label: String
    let fd: Int32
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    init(label: String, fd: Int32) {
        self.label = label
        self.fd = fd
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
        _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }
}
