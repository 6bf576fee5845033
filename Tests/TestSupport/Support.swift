import Foundation
import Testing
import SnapshotFS

/// A directory under the system temp dir, removed when the test process exits.
///
/// Not in `deinit`: Swift may end a value's lifetime at its last use, which in a test is
/// often before the repository inside the directory is done with.
public final class TempDir: Sendable {
    public let path: String

    public init(_ label: String = "t") {
        let base = URL(fileURLWithPath: NSTemporaryDirectory()).standardizedFileURL.path
        var template = Array("\(base)/vost-\(label)-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        path = made.map { String(cString: $0) } ?? "/tmp/vost-\(label)-\(UUID().uuidString)"
        TempDir.created.withLock { dirs in
            if dirs.isEmpty { atexit { TempDir.removeAll() } }
            dirs.append(path)
        }
    }

    private static let created = Guarded<[String]>([])

    private static func removeAll() {
        for dir in created.withLock({ $0 }) { try? FileManager.default.removeItem(atPath: dir) }
    }

    public func sub(_ name: String) -> String { "\(path)/\(name)" }
}

public struct CommandFailed: Error, CustomStringConvertible {
    public let command: String
    public let status: Int32
    public let output: String
    public init(command: String, status: Int32, output: String) {
        self.command = command
        self.status = status
        self.output = output
    }
    public var description: String { "`\(command)` exited \(status): \(output)" }
}

/// Runs a program (looked up in PATH) and returns its standard output; a non-zero exit throws
/// with standard error attached, so the failing assertion says what went wrong.
@discardableResult
public func run(_ arguments: [String], cwd: String? = nil, env: [String: String] = [:], stdin: Data? = nil) throws -> String {
    let data = try runData(arguments, cwd: cwd, env: env, stdin: stdin)
    return String(decoding: data, as: UTF8.self)
}

public func runData(_ arguments: [String], cwd: String? = nil, env: [String: String] = [:], stdin: Data? = nil) throws -> Data {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    if let cwd { process.currentDirectoryURL = URL(fileURLWithPath: cwd) }
    var environment = ProcessInfo.processInfo.environment
    for (k, v) in env { environment[k] = v }
    process.environment = environment
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    let input = Pipe()
    process.standardInput = input
    try process.run()
    if let stdin { input.fileHandleForWriting.write(stdin) }
    try input.fileHandleForWriting.close()
    // Drain both pipes concurrently so a chatty child cannot block on a full pipe.
    let errData = Guarded(Data())
    let reader = Thread { errData.withLock { $0 = err.fileHandleForReading.readDataToEndOfFile() } }
    reader.start()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    while reader.isExecuting || !reader.isFinished { usleep(1000) }
    guard process.terminationStatus == 0 else {
        throw CommandFailed(command: arguments.joined(separator: " "), status: process.terminationStatus,
                            output: String(decoding: errData.withLock { $0 }, as: UTF8.self))
    }
    return data
}

@discardableResult
public func git(_ repo: String, _ args: String...) throws -> String {
    try run(["git", "--git-dir=\(repo)"] + args, env: gitEnv)
}

/// A fixed identity, so git commands in tests do not depend on the machine's config.
public let gitEnv = [
    "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_NOSYSTEM": "1", "HOME": NSTemporaryDirectory(),
]

/// `git fsck --full --strict` must report nothing wrong.
public func expectFsckClean(_ repo: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let output = try run(["git", "--git-dir=\(repo)", "fsck", "--full", "--strict", "--no-dangling"], env: gitEnv)
    #expect(!output.contains("error") && !output.contains("warning"), "fsck: \(output)", sourceLocation: sourceLocation)
}

/// A new store in a temp dir; the dir lives as long as the returned `TempDir`.
public func makeStore(_ label: String = "store") throws -> (TempDir, Store) {
    let dir = TempDir(label)
    let store = try Store.open(dir.sub("repo.git"))
    return (dir, store)
}

public func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

/// The Python that has vost installed: `VOST_PYTHON` (set by scripts/test), else `python3`.
/// A missing vost fails the test that needs it, with the fix in the message.
public func vostPython() throws -> String {
    let python = ProcessInfo.processInfo.environment["VOST_PYTHON"] ?? "python3"
    do {
        try run([python, "-c", "import vost"])
    } catch {
        Issue.record("vost is not importable by \(python): run scripts/test, which installs it (\(error))")
        throw error
    }
    return python
}

/// Runs a Python script (no vost needed); the interpreter is the same one.
@discardableResult
public func python(_ script: String, _ args: [String] = []) throws -> String {
    try run([ProcessInfo.processInfo.environment["VOST_PYTHON"] ?? "python3", "-c", script] + args)
}

/// A value behind a lock (the engine's own `Locked` is internal to it).
public final class Guarded<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    public init(_ value: Value) { self.value = value }
    public func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

/// Creates (or replaces) a file with `contents` and, when given, POSIX `mode`: a test input
/// that could not be made is a failure, not a silently missing file.
public func createFile(_ path: String, _ contents: Data = Data(), mode: Int? = nil) throws {
    guard FileManager.default.createFile(atPath: path, contents: contents,
                                         attributes: mode.map { [.posixPermissions: $0] }) else {
        throw CommandFailed(command: "create \(path)", status: errno, output: String(cString: strerror(errno)))
    }
}
