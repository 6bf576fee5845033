import Foundation
import Testing
@testable import SnapshotFS
import TestSupport

/// `@/log` is one walk of the history per tip, however many `readdir` requests a long
/// listing takes (it walked once per request, thousands of commits each time).
@Suite struct LogListingTests {
    @Test func aLongLogIsWalkedOncePerListing() throws {
        let dir = TempDir("log")
        let repo = dir.sub("repo.git")
        try run(["git", "init", "-q", "--bare", "-b", "main", repo], env: gitEnv)
        var stream = ""
        for c in 0..<3000 {
            stream += "commit refs/heads/main\ncommitter T <t@t> \(1_700_000_000 + 60 * c) +0000\ndata 1\nc\n"
            stream += "M 100644 inline f\(c % 10)\ndata \(String(c).utf8.count + 1)\n\(c)\n\n"
        }
        try run(["git", "--git-dir=\(repo)", "fast-import", "--quiet"], env: gitEnv, stdin: Data(stream.utf8))
        let point = dir.sub("mnt")
        try FileManager.default.createDirectory(atPath: point, withIntermediateDirectories: true)
        let log = dir.sub("daemon.log")
        try createFile(log)
        // -d: foreground, with debug lines, which count the walks.
        let daemon = try Background([try vostmountBinary(), "-d", repo, point], label: "vostmount -d", log: log)
        defer {
            _ = try? run(["fusermount3", "-u", point])
            daemon.stop()
        }
        #expect(eventually(within: 20) { isMounted(point) })
        #expect(try run(["sh", "-c", "ls '\(point)/@/log' | wc -l"]) == "3000\n")
        let walks = (contents(log) ?? "").components(separatedBy: "listed @/log: walked 3000 commits").count - 1
        let readdirs = (contents(log) ?? "").components(separatedBy: "READDIR").count - 1
        #expect(walks == 1, "\(walks) walks for one listing in \(readdirs) readdir requests")
        #expect(readdirs > 3, "the listing took several requests")
    }
}
