import Foundation
import Testing
@testable import SnapshotFS
import TestSupport

/// History views on a history of a real project's shape (`scripts/make_history.py`: merges on
/// the first-parent line, nested folders, tags, a submodule), read from commit objects and
/// from git's commit-graph with its changed-path Bloom filters, single or split, fresh or
/// stale, and checked against `git log --first-parent -- PATH` through a real mount.
@Suite struct HistoryGraphTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// A generated history; its JSON report (`sample` paths, counts).
    static func makeHistory(_ dir: TempDir, _ options: [String]) throws -> (repo: String, sample: [String]) {
        let repo = dir.sub("repo.git")
        let output = try run(["python3", root + "/scripts/make_history.py", repo] + options, env: gitEnv)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
        return (repo, try #require(report["sample"] as? [String]))
    }

    static func git(_ repo: String, _ args: String...) throws -> [String] {
        // git's own answer from the commit objects: git trusts a damaged graph, or crashes on it.
        try run(["git", "-c", "core.commitGraph=false", "--git-dir=\(repo)"] + args).split(separator: "\n").map(String.init)
    }

    /// The 7-digit commit names of the versions folder of `path`, oldest first.
    static func listedVersions(_ mount: Mount, _ path: String) throws -> [String] {
        try run(["ls", "-1", mount.path("@/versions/\(path)")]).split(separator: "\n").map { name in
            let last = name.split(separator: "-").last ?? ""
            return String(last.prefix(7))
        }
    }

    /// Everything the mount says of history, against git: each path's versions, `@/log`,
    /// `@{DATE}` and every `@/log` entry looked up by `find`.
    static func checkAgainstGit(_ repo: String, paths: [String], in dir: TempDir, stage: String) throws {
        let mount = try Mount(repo, in: dir, arguments: ["--read-only"], name: "mnt-\(stage)")
        defer { mount.unmount() }
        for path in paths {
            let expected = try git(repo, "log", "--first-parent", "--format=%H", "main", "--", path).reversed().map { String($0.prefix(7)) }
            #expect(!expected.isEmpty, "\(stage): \(path)")
            #expect(try listedVersions(mount, path) == expected, "\(stage): versions of \(path)")
        }
        let firstParent = try git(repo, "rev-list", "--first-parent", "main")
        let log = try run(["ls", "-1", mount.path("@/log")]).split(separator: "\n")
        #expect(log.count == firstParent.count, "\(stage): @/log")
        #expect(log.last.map { String($0.suffix(7)) } == String(firstParent[0].prefix(7)), "\(stage): newest @/log entry")
        let found = try run(["find", mount.path("@/log"), "-mindepth", "1", "-maxdepth", "1"]).split(separator: "\n")
        #expect(found.count == firstParent.count, "\(stage): find @/log")
        // @{DATE}: the newest first-parent commit not newer than DATE, as git's --before.
        let times = try git(repo, "log", "--first-parent", "--format=%ct", "main").compactMap { Int($0) }
        for time in [times[times.count / 2], times[times.count / 3] - 1, times[1]] {
            let date = VersionsTests.utc(time, "yyyy-MM-dd'T'HH:mm:ss'Z'")
            let commit = try git(repo, "rev-list", "-1", "--first-parent", "--before=\(time)", "main")[0]
            let gitText = try git(repo, "show", "\(commit):Makefile").joined(separator: "\n") + "\n"
            #expect(contents(mount.path("@{\(date)}/Makefile")) == gitText, "\(stage): @{\(date)}")
        }
    }

    @Test func historyViewsAgreeWithGitWithAndWithoutACommitGraph() throws {
        let dir = TempDir("history-graph")
        let (repo, sample) = try Self.makeHistory(dir, ["--first-parent", "500", "--files", "300", "--tags", "10", "--seed", "3"])
        let paths = Array(Set(sample.prefix(8))) + ["Makefile", "rare.txt", "vendor/lib"]
        try Self.checkAgainstGit(repo, paths: paths, in: dir, stage: "objects")
        try run(["git", "--git-dir=\(repo)", "commit-graph", "write", "--reachable", "--changed-paths"])
        try Self.checkAgainstGit(repo, paths: paths, in: dir, stage: "graph")
        // Commits newer than the graph: the walk reads their objects, then the graph.
        var stream = ""
        for n in 0..<3 {
            stream += "commit refs/heads/main\ncommitter T <t@t> \(1_900_000_000 + n) +0000\ndata 2\nx\nfrom refs/heads/main^0\n"
            stream += "M 100644 inline Makefile\ndata 6\nnew \(n)\n\nM 100644 inline \(sample[0])\ndata 2\n\(n)\n\n"
        }
        try run(["git", "--git-dir=\(repo)", "fast-import", "--quiet"], stdin: Data(stream.utf8))
        try Self.checkAgainstGit(repo, paths: paths, in: dir, stage: "stale")
        try run(["git", "--git-dir=\(repo)", "commit-graph", "write", "--reachable", "--changed-paths", "--split=no-merge"])
        #expect(FileManager.default.fileExists(atPath: "\(repo)/objects/info/commit-graphs/commit-graph-chain"))
        try Self.checkAgainstGit(repo, paths: paths, in: dir, stage: "split")
    }

    /// A commit-graph that is cut short, or whose filter offsets point outside it, is no
    /// graph: the answers are git's. One whose parents loop is an error for the listing
    /// (EIO), not a hang, and the mount goes on serving.
    @Test func aDamagedCommitGraphCostsOnlyItself() throws {
        let dir = TempDir("history-damaged")
        let (repo, sample) = try Self.makeHistory(dir, ["--first-parent", "200", "--files", "100", "--tags", "0"])
        let graph = "\(repo)/objects/info/commit-graph"
        func rewrite(_ change: (inout [UInt8]) -> Void) throws {
            try? FileManager.default.removeItem(atPath: graph)
            try run(["git", "--git-dir=\(repo)", "commit-graph", "write", "--reachable", "--changed-paths"])
            var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: graph)))
            change(&bytes)
            try FileManager.default.removeItem(atPath: graph)
            try Data(bytes).write(to: URL(fileURLWithPath: graph))
        }
        func chunk(_ bytes: [UInt8], _ name: String) -> Int {
            let id = Array(name.utf8)
            var at = 8
            while at + 12 <= bytes.count, Array(bytes[at..<(at + 4)]) != id { at += 12 }
            return Int(bytes[(at + 4)..<(at + 12)].reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        }
        try rewrite { $0.removeLast($0.count / 2) }
        try Self.checkAgainstGit(repo, paths: ["Makefile", sample[0]], in: dir, stage: "truncated")
        try rewrite { bytes in  // every filter's end offset far past the data
            let index = chunk(bytes, "BIDX")
            for i in stride(from: index, to: index + 400, by: 4) { bytes[i] = 0x7F }
        }
        try Self.checkAgainstGit(repo, paths: ["Makefile", sample[0]], in: dir, stage: "bad-filters")
        try rewrite { bytes in  // every first parent is commit 0: the walk would loop
            let data = chunk(bytes, "CDAT")
            for record in stride(from: data, to: data + 200 * 36, by: 36) {
                bytes.replaceSubrange((record + 20)..<(record + 24), with: [0, 0, 0, 0])
            }
        }
        let mount = try Mount(repo, in: dir, arguments: ["--read-only"], name: "mnt-loop")
        defer { mount.unmount() }
        let (status, output) = try runFailing(["ls", mount.path("@/versions/Makefile")])
        #expect(status != 0 && output.contains("Input/output error"), "\(output)")
        #expect(contents(mount.path("Makefile")) == (try run(["git", "--git-dir=\(repo)", "show", "main:Makefile"])))
    }

    /// Walking every versions folder of a large history, every `@/log` entry, and whole
    /// trees of a few old commits, leaves the daemon's anonymous memory under 128 MiB: every cache is
    /// bounded in bytes.
    @Test func memoryStaysBoundedAcrossEveryVersionsFolder() throws {
        let dir = TempDir("history-memory")
        let (repo, _) = try Self.makeHistory(dir, ["--first-parent", "3000", "--files", "1000", "--tags", "0"])
        try run(["git", "--git-dir=\(repo)", "commit-graph", "write", "--reachable", "--changed-paths"])
        let mount = try Mount(repo, in: dir, arguments: ["--read-only"])
        defer { mount.unmount() }
        let versions = try run(["find", mount.path("@/versions"), "-type", "f"]).split(separator: "\n").count
        #expect(versions > 2000)
        let log = try run(["ls", "-1", mount.path("@/log")]).split(separator: "\n")
        #expect(try run(["find", mount.path("@/log"), "-maxdepth", "1"]).split(separator: "\n").count == log.count + 1)
        for entry in log.enumerated().filter({ $0.offset % 600 == 0 }).map(\.element) {
            _ = try run(["sh", "-c", "tar -cf - -- \"$0\" | cat > /dev/null", mount.path("@/log/\(entry)")])
        }
        let status = try String(contentsOfFile: "/proc/\(try #require(mount.daemon))/status", encoding: .utf8)
        let anon = try #require(status.split(separator: "\n").first { $0.hasPrefix("RssAnon:") })
        let kib = Int(anon.split(separator: " ").dropFirst().first ?? "") ?? .max
        print("daemon anonymous memory after \(versions) versions: \(kib) KiB")
        #expect(kib < 128 << 10, "daemon anonymous memory \(kib) KiB")
    }
}
