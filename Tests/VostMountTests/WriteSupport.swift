import Foundation
import Testing
@testable import SnapshotFS
import TestSupport

/// Runs a shell script with `cwd` as its working directory (`set -e`: any failing step fails).
@discardableResult
func sh(_ script: String, in cwd: String, env: [String: String] = [:]) throws -> String {
    try run(["sh", "-c", "set -e\n" + script], cwd: cwd, env: env)
}

/// The files of the branch tip as `git archive` gives them, extracted into `target`.
func archive(_ repo: String, _ rev: String = "main", into target: String) throws {
    try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
    try run(["sh", "-c", "git --git-dir='\(repo)' archive '\(rev)' | tar -x -C '\(target)'"])
}

func commitCount(_ repo: String, _ rev: String = "main") throws -> Int {
    Int(try git(repo, "rev-list", "--count", rev).trimmingCharacters(in: .whitespacesAndNewlines))!
}

func tipHash(_ repo: String, _ rev: String = "main") throws -> String {
    try git(repo, "rev-parse", rev).trimmingCharacters(in: .whitespacesAndNewlines)
}

/// `diff -r` of two trees that also compares what every entry is (file, executable,
/// symlink, directory): `diff` alone ignores modes.
func expectSameTree(_ a: String, _ b: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    do { try run(["diff", "-r", "--no-dereference", a, b]) } catch {
        Issue.record("trees differ: \(error)", sourceLocation: sourceLocation)
        return
    }
    let list = "find . -mindepth 1 \\( -type f -perm /111 -printf '%P x\\n' \\) -o -printf '%P %y\\n' | sort"
    let left = try run(["sh", "-c", list], cwd: a)
    let right = try run(["sh", "-c", list], cwd: b)
    #expect(left == right, "kinds or executable bits differ:\n\(left)\n---\n\(right)", sourceLocation: sourceLocation)
}

/// The daemon serving `point` (from the FUSE connection's mount).
func daemonPID(of point: String) throws -> Int32? {
    let out = try run(["sh", "-c", "pgrep -f -- ' \(point)$' || true"]).split(separator: "\n")
    return out.first.flatMap { Int32($0) }
}
