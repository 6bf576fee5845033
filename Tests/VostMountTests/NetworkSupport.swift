import Foundation
import Testing
@testable import SnapshotFS
import TestSupport

/// `git http-backend` behind lighttpd (Debian's) on 127.0.0.1; pushes are allowed by the
/// repository's own `http.receivepack`.
final class HTTPGitServer {
    let port: UInt16
    let server: Background

    init(root: String, dir: TempDir) throws {
        port = try freePort()
        let exec = try run(["git", "--exec-path"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let config = dir.sub("lighttpd.conf")
        try createFile(config, Data("""
            server.document-root = "\(root)"
            server.bind = "127.0.0.1"
            server.port = \(port)
            server.modules = ("mod_alias", "mod_setenv", "mod_cgi")
            alias.url = ("/git" => "\(exec)/git-http-backend")
            $HTTP["url"] =~ "^/git" {
                cgi.assign = ("" => "")
                setenv.add-environment = ("GIT_PROJECT_ROOT" => "\(root)", "GIT_HTTP_EXPORT_ALL" => "")
            }

            """.utf8))
        server = try Background(["lighttpd", "-D", "-f", config], label: "lighttpd", log: dir.sub("lighttpd.log"))
        guard eventually(within: 10, { accepts("127.0.0.1", port) }) else {
            server.stop()
            throw CommandFailed(command: "lighttpd", status: -1, output: contents(dir.sub("lighttpd.log")) ?? "")
        }
    }

    func url(_ name: String, credentials: String = "") -> String { "http://\(credentials)127.0.0.1:\(port)/git/\(name)" }
    func stop() { server.stop() }
}

/// A network namespace of the test's own with a veth pair to it: a real link, with the
/// server at `address` inside and nothing else there. `remove()` takes it all down.
final class TestNetwork {
    let name: String
    let address: String
    /// This side's address on the link.
    let hostAddress: String
    private let hostSide: String
    private var removed = false

    init() throws {
        let n = Int.random(in: 1...250)
        let tag = String(UUID().uuidString.prefix(6)).lowercased()
        name = "vostmount-\(tag)"
        hostSide = "vh\(tag)"
        let inside = "vn\(tag)"
        address = "10.231.\(n).2"
        hostAddress = "10.231.\(n).1"
        try run(["ip", "netns", "add", name])
        do {
            try run(["ip", "link", "add", hostSide, "type", "veth", "peer", "name", inside])
            try run(["ip", "link", "set", inside, "netns", name])
            try run(["ip", "addr", "add", "10.231.\(n).1/30", "dev", hostSide])
            try run(["ip", "link", "set", hostSide, "up"])
            try run(["ip", "netns", "exec", name, "ip", "addr", "add", "\(address)/30", "dev", inside])
            try run(["ip", "netns", "exec", name, "ip", "link", "set", inside, "up"])
            try run(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"])
        } catch {
            remove()
            throw error
        }
    }

    /// Runs a program inside the namespace.
    func inside(_ arguments: [String]) -> [String] { ["ip", "netns", "exec", name] + arguments }

    /// Drops every answer the server sends (the link stays up): connections hang, as they do
    /// through a firewall that drops, until `blackhole(false)`.
    func blackhole(_ on: Bool) throws {
        try run(inside(["ip", "route", on ? "add" : "del", "blackhole", "\(hostAddress)/32"]))
    }

    /// Cuts the link (the server stays up, unreachable) or restores it.
    func setLink(up: Bool) throws { try run(["ip", "link", "set", hostSide, up ? "up" : "down"]) }

    func remove() {
        guard !removed else { return }
        removed = true
        _ = try? run(["ip", "link", "del", hostSide])
        _ = try? run(["ip", "netns", "del", name])
    }

    deinit { remove() }
}
