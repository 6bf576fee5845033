import Foundation
import Testing
@testable import SnapshotFS
import TestSupport

/// `@/versions/<path>/` (every version of one path as a folder) and Samba's `@GMT-...` names
/// (`@/gmt/` and the root alias), through a real mount with ordinary programs.
@Suite struct VersionsTests {
    /// A history made with `git fast-import`, an hour between commits:
    /// 0 report.txt v1, gone.txt, docs/a.md, thing/inner.txt (a directory)
    /// 1 other.txt only
    /// 2 report.txt v2, link -> report.txt
    /// 3 report.txt deleted, gone.txt deleted, thing becomes a file
    /// 4 report.txt v3 (re-created), link -> other.txt
    static let start = 1_700_000_000
    static func makeRepo(_ dir: TempDir) throws -> (repo: String, commits: [String]) {
        let repo = dir.sub("repo.git")
        try run(["git", "init", "-q", "--bare", "-b", "main", repo], env: gitEnv)
        func file(_ path: String, _ text: String, mode: String = "100644") -> String {
            "M \(mode) inline \(path)\ndata \(text.utf8.count)\n\(text)\n"
        }
        let changes = [
            file("report.txt", "v1\n") + file("gone.txt", "gone\n") + file("docs/a.md", "# a\n") + file("thing/inner.txt", "inner\n"),
            file("other.txt", "other\n"),
            file("report.txt", "v2\n") + file("link", "report.txt", mode: "120000"),
            "D report.txt\nD gone.txt\nD thing\n" + file("thing", "now a file\n"),
            file("report.txt", "v3\n") + file("link", "other.txt", mode: "120000"),
        ]
        var stream = ""
        for (n, change) in changes.enumerated() {
            stream += "commit refs/heads/main\ncommitter T <t@t> \(start + 3600 * n) +0000\ndata 2\nc\(n)\n"
            stream += change + "\n"
        }
        try run(["git", "--git-dir=\(repo)", "fast-import", "--quiet"], env: gitEnv, stdin: Data(stream.utf8))
        let commits = try run(["git", "--git-dir=\(repo)", "rev-list", "--reverse", "main"]).split(separator: "\n").map(String.init)
        #expect(commits.count == changes.count)
        return (repo, commits)
    }

    static func utc(_ seconds: Int, _ format: String) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(secondsFromGMT: 0)
        formatter.dateFormat = format
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }

    /// The name a version of commit `n` has: as in `@/log`, plus `ext`.
    static func versionName(_ commits: [String], _ n: Int, _ ext: String = "") -> String {
        utc(start + 3600 * n, "yyyy-MM-dd'T'HH:mm:ss'Z'") + "-" + commits[n].prefix(7) + ext
    }

    static func gmtName(_ n: Int) -> String { utc(start + 3600 * n, "'@GMT-'yyyy.MM.dd-HH.mm.ss") }

    func ls(_ path: String) throws -> [String] {
        try run(["ls", "-1", path]).split(separator: "\n").map(String.init)
    }

    @Test func everyVersionOfAFileIsAFileOfItsFolder() throws {
        let dir = TempDir("versions")
        let (repo, commits) = try Self.makeRepo(dir)
        let mount = try Mount(repo, in: dir, arguments: ["--commit-delay", "0"])
        defer { mount.unmount() }
        let report = mount.path("@/versions/report.txt")
        // One entry per version, oldest first, with the file's extension; commits 1 and 3
        // did not bring a version (1 did not touch it, 3 deleted it).
        let names = [0, 2, 4].map { Self.versionName(commits, $0, ".txt") }
        #expect(try ls(report) == names)
        #expect(try [0, 2, 4].map { try run(["cat", "\(report)/\(Self.versionName(commits, $0, ".txt"))"]) } == ["v1\n", "v2\n", "v3\n"])
        // Ordinary programs: diff between two versions, cp out of the folder, stat.
        let diff = try run(["sh", "-c", "diff \"$0\" \"$1\"; echo status $?", "\(report)/\(names[0])", "\(report)/\(names[1])"])
        #expect(diff.contains("< v1") && diff.contains("> v2") && diff.hasSuffix("status 1\n"), "\(diff)")
        try run(["cp", "\(report)/\(names[1])", dir.sub("restored.txt")])
        #expect(contents(dir.sub("restored.txt")) == "v2\n")
        #expect(try run(["stat", "-c", "%F %a %s %Y", "\(report)/\(names[1])"]) == "regular file 644 3 \(Self.start + 7200)\n")
        #expect(try run(["stat", "-c", "%F %a", report]) == "directory 555\n")

        // Directories list their entries' versions folders, so one can walk down.
        #expect(try ls(mount.path("@/versions")) == ["docs", "link", "other.txt", "report.txt", "thing"])
        #expect(try ls(mount.path("@/versions/docs")) == ["a.md"])
        #expect(try ls(mount.path("@/versions/docs/a.md")) == [Self.versionName(commits, 0, ".md")])
        // A path gone from the tip is not listed, but answers by name.
        #expect(try ls(mount.path("@/versions/gone.txt")) == [Self.versionName(commits, 0, ".txt")])
        #expect(try runFailing(["ls", mount.path("@/versions/never.txt")]).0 != 0)
        // A version in which the path was a directory is a folder; symlinks stay symlinks.
        #expect(try ls(mount.path("@/versions/thing")) == [Self.versionName(commits, 0), Self.versionName(commits, 3)])
        #expect(contents(mount.path("@/versions/thing/\(Self.versionName(commits, 0))/inner.txt")) == "inner\n")
        #expect(contents(mount.path("@/versions/thing/\(Self.versionName(commits, 3))")) == "now a file\n")
        let links = [2, 4].map { Self.versionName(commits, $0) }
        #expect(try ls(mount.path("@/versions/link")) == links)
        #expect(try links.map { try run(["readlink", mount.path("@/versions/link/\($0)")]) } == ["report.txt\n", "other.txt\n"])

        // Read-only, like all history.
        let (touched, message) = try runFailing(["touch", "\(report)/new.txt"])
        #expect(touched != 0 && message.contains("Read-only file system"), "\(message)")
        // `@` lists the new folders; the root does not list `@`.
        #expect(try ls(mount.path("@")).contains("versions") && ls(mount.path("@")).contains("gmt"))
        #expect(try !ls(mount.point).contains("@"))

        // A new version through the mount shows up once committed.
        try run(["sh", "-c", "printf 'v4\\n' > '\(mount.path("report.txt"))' && sync '\(mount.path("report.txt"))'"])
        // Shown at once, not at the next poll: the commit drops the folder's cached listing.
        #expect(eventually(within: 0.2) { ((try? ls(report)) ?? []).count == 4 }, "the new version was not listed within 0.2 s of fsync")
        #expect(try run(["sh", "-c", "cat '\(report)'/$(ls '\(report)' | tail -1)"]) == "v4\n")
        mount.unmount()
        try expectFsckClean(repo)
    }

    /// A `--ref` mount shows the versions up to its commit.
    @Test func aRefMountShowsTheVersionsUpToItsCommit() throws {
        let dir = TempDir("versions-ref")
        let (repo, commits) = try Self.makeRepo(dir)
        let mount = try Mount(repo, in: dir, arguments: ["--ref", commits[2]])
        defer { mount.unmount() }
        #expect(try ls(mount.path("@/versions/report.txt")) == [0, 2].map { Self.versionName(commits, $0, ".txt") })
    }

    /// Samba's snapshot names: `@/gmt/` lists one per commit, and `@GMT-...` at the root is
    /// the branch as it was at that second (`@{DATE}`).
    @Test func gmtNamesReachTheBranchAsItWasThen() throws {
        let dir = TempDir("gmt")
        let (repo, _) = try Self.makeRepo(dir)
        let mount = try Mount(repo, in: dir)
        defer { mount.unmount() }
        #expect(try ls(mount.path("@/gmt")) == (0..<5).map(Self.gmtName))
        #expect(contents(mount.path("@/gmt/\(Self.gmtName(2))/report.txt")) == "v2\n")
        #expect(contents(mount.path("\(Self.gmtName(2))/report.txt")) == "v2\n")
        // Between two commits: the older one, as `@{DATE}` gives.
        let between = Self.utc(Self.start + 3600 * 2 + 1800, "'@GMT-'yyyy.MM.dd-HH.mm.ss")
        #expect(contents(mount.path("\(between)/report.txt")) == "v2\n")
        #expect(contents(mount.path("\(Self.gmtName(3))/report.txt")) == nil)
        // Not a date: no such name.
        #expect(try runFailing(["ls", mount.path("@GMT-2023.13.01-00.00.00")]).0 != 0)
        #expect(try runFailing(["ls", mount.path("@GMT-nonsense")]).0 != 0)
        #expect(try !ls(mount.point).contains { $0.hasPrefix("@") })
    }
}
