import Foundation
import Testing
@testable import SnapshotFS
import TestSupport

/// `LFSRules` decides as `git check-attr filter` does, on random attribute files at the root
/// and in subdirectories, over paths at several depths.
@Suite struct GitAttributesTests {
    static let patterns = ["*.bin", "/top.bin", "sub/*.dat", "**/deep.txt", "a/**", "a/**/b.txt", "*.tx?", "[ab]*.log",
                           "name", ".hidden*", "x/y/", "sub/**/z.bin", "*", "deep.txt", "/a/b.txt", "*.dat"]
    static let attributes = ["filter=lfs", "filter=lfs diff=lfs merge=lfs -text", "-filter", "!filter", "filter=other", "-text"]
    static let paths = ["top.bin", "sub/top.bin", "sub/x.dat", "sub/deeper/x.dat", "x.dat", "deep.txt", "a/b/c/deep.txt",
                        "a/b.txt", "a/q/r/b.txt", "a/other", "notes.txt", "notes.txz", "a.log", "c.log", "sub/a.log",
                        "name", "dir/name", ".hiddenfile", "sub/.hidden.bin", "x/y", "x/y/file", "sub/z.bin",
                        "sub/q/z.bin", "z.bin", "a/b/top.bin"]

    @Test func rulesAgreeWithGitCheckAttr() throws {
        var rng = SystemRandomNumberGenerator()
        let dir = TempDir("attributes")
        for round in 0..<12 {
            let work = dir.sub("w\(round)")
            try run(["git", "init", "-q", work], env: gitEnv)
            var files: [(RepoPath, String)] = []
            for base in ["", "sub", "a"] {
                guard base.isEmpty || Bool.random(using: &rng) else { continue }
                let lines = (0..<Int.random(in: 1...5, using: &rng)).map { _ in
                    "\(Self.patterns.randomElement(using: &rng)!) \(Self.attributes.randomElement(using: &rng)!)"
                }
                let text = lines.joined(separator: "\n") + "\n"
                try FileManager.default.createDirectory(atPath: "\(work)/\(base)", withIntermediateDirectories: true)
                try Data(text.utf8).write(to: URL(fileURLWithPath: "\(work)/\(base)/.gitattributes"))
                files.append((base.isEmpty ? .root : try RepoPath(base), text))
            }
            var rules = LFSRules()
            for (base, text) in files.sorted(by: { $0.0.components.count < $1.0.components.count }) {
                rules = rules.adding(Array(text.utf8), base: base)
            }
            let answers = try run(["git", "check-attr", "filter", "--"] + Self.paths, cwd: work)
                .split(separator: "\n").map(String.init)
            #expect(answers.count == Self.paths.count)
            for (path, answer) in zip(Self.paths, answers) {
                let git = answer.hasSuffix(": filter: lfs")
                #expect(rules.matches(try RepoPath(path)) == git, "\(path): git says \(answer); files \(files)")
            }
        }
    }
}
