import Foundation
import Testing
import TestSupport

/// giftless, a Git LFS server (PyPI), on 127.0.0.1 with its objects in a folder of the
/// test's: anonymous read and write, as an LFS server behind a trusted proxy runs. Its
/// Python is `GIFTLESS_PYTHON` (scripts/test makes the virtualenv), else the package's
/// `.build/giftless-venv`. When it cannot start, the test fails (`init` throws after
/// recording why); it never skips.
final class Giftless {
    let port: UInt16
    let storage: String
    private let server: Background

    init(in dir: TempDir) throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let python = ProcessInfo.processInfo.environment["GIFTLESS_PYTHON"]
            ?? root.appendingPathComponent(".build/giftless-venv/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: python) else {
            Issue.record("no giftless at \(python): run scripts/test, which installs it")
            throw CommandFailed(command: "giftless", status: -1, output: "missing \(python)")
        }
        storage = dir.sub("giftless-objects")
        let config = dir.sub("giftless.yaml")
        // The token key signs giftless's own upload and download links.
        try Data("""
        LEGACY_ENDPOINTS: false
        AUTH_PROVIDERS:
          - giftless.auth.allow_anon:read_write
        TRANSFER_ADAPTERS:
          basic:
            factory: giftless.transfer.basic_streaming:factory
            options:
              storage_class: giftless.storage.local_storage:LocalStorage
              storage_options:
                path: \(storage)
        PRE_AUTHORIZED_ACTION_PROVIDER:
          options:
            private_key: vostmount-tests-\(UUID().uuidString)

        """.utf8).write(to: URL(fileURLWithPath: config))
        port = try freePort()
        let log = dir.sub("giftless.log")
        server = try Background([python, "-m", "flask", "--app", "giftless.wsgi_entrypoint", "run", "--host", "127.0.0.1",
                                 "--port", "\(port)"], env: ["GIFTLESS_CONFIG_FILE": config], label: "giftless", log: log)
        guard eventually(within: 30, { [port] in accepts("127.0.0.1", port) }) else {
            server.stop()
            let said = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            Issue.record("giftless did not listen on 127.0.0.1:\(port): \(said.suffix(2000))")
            throw CommandFailed(command: "giftless", status: -1, output: "did not start")
        }
    }

    /// The LFS endpoint of repository `name` (`lfs.url`).
    func url(_ name: String) -> String { "http://127.0.0.1:\(port)/vostmount/\(name).git/info/lfs" }

    /// Whether the server holds `oid`.
    func has(_ oid: String) -> Bool {
        (try? FileManager.default.subpathsOfDirectory(atPath: storage))?.contains { $0.hasSuffix(oid) } ?? false
    }

    func stop() { server.stop() }
}

/// A TCP listener on 127.0.0.1 that accepts connections and never answers: an LFS server
/// that hangs.
final class SilentServer {
    let port: UInt16
    private let server: Background

    init() throws {
        port = try freePort()
        server = try Background(["python3", "-c", """
            import socket, time
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", \(port)))
            s.listen(64)
            held = []
            while True:
                held.append(s.accept())
            """], label: "silent server")
        guard eventually(within: 10, { [port] in accepts("127.0.0.1", port) }) else {
            server.stop()
            throw CommandFailed(command: "silent server", status: -1, output: "did not listen")
        }
    }

    func stop() { server.stop() }
}

/// The LFS oid of `data` (its SHA-256), as a pointer names it.
func lfsOid(_ path: String) throws -> String {
    try run(["sha256sum", path]).split(separator: " ")[0].description
}

/// Whether the local LFS store of bare repository `repo` holds `oid`.
func localStoreHas(_ repo: String, _ oid: String) -> Bool {
    FileManager.default.fileExists(atPath: "\(repo)/lfs/objects/\(oid.prefix(2))/\(oid.dropFirst(2).prefix(2))/\(oid)")
}
