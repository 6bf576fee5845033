import ArgumentParser
import Foundation
import SnapshotFS

/// One engine operation, timed; prints `seconds` on stdout for scripts/bench to read.
@main
struct VostBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vost-bench",
        abstract: "Times one SnapshotFS operation (used by scripts/bench).",
        subcommands: [CommitMany.self, ReadMany.self, SingleCommits.self, WriteFile.self, ReadSlices.self,
                      Resolve.self, MergeDiverged.self])
}

func timed(_ body: () throws -> Void) rethrows {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    print(String(format: "%.6f", seconds))
}

struct CommitMany: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Commit N files of S bytes in D directories as one batch.")
    @Argument var repo: String
    @Option var files = 10_000
    @Option var dirs = 100
    @Option var size = 100

    func run() throws {
        let store = try Store.open(repo)
        let base = try store.branches["main"]
        // The same bytes as the vost and git sides of scripts/bench: 92 x "a", then %08d.
        let payload = [UInt8](repeating: 0x61, count: size - 8)
        try timed {
            _ = try base.batch { b in
                for i in 0..<files {
                    let digits = Array(String(i).utf8)
                    let content = payload + [UInt8](repeating: 0x30, count: 8 - digits.count) + digits
                    try b.write(try RepoPath("d\(i % dirs)/f\(i)"), content)
                }
            }
        }
    }
}

struct ReadMany: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Read every file of the branch tip.")
    @Argument var repo: String

    func run() throws {
        let store = try Store.open(repo, create: false)
        var total = 0
        try timed {
            let snap = try store.branches["main"]
            for (path, _) in try snap.files() { total += try snap.read(path).count }
        }
        FileHandle.standardError.write(Data("read \(total) bytes\n".utf8))
    }
}

struct SingleCommits: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "N commits of one small file each.")
    @Argument var repo: String
    @Option var count = 1000

    func run() throws {
        let store = try Store.open(repo)
        var snap = try store.branches["main"]
        try timed {
            for i in 0..<count { snap = try snap.write(try RepoPath("f\(i % 50)"), Array("\(i)".utf8)) }
        }
    }
}

struct WriteFile: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write a file from disk as one commit (streamed).")
    @Argument var repo: String
    @Argument var file: String

    func run() throws {
        let store = try Store.open(repo)
        try timed { _ = try store.branches["main"].write("big.bin", fromFile: file) }
    }
}

struct ReadSlices: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Read a file in slices by offset, to /dev/null.")
    @Argument var repo: String
    @Argument var path: String
    @Option var slice = 1 << 20

    func run() throws {
        let store = try Store.open(repo, create: false)
        let out = open("/dev/null", O_WRONLY)
        try timed {
            let snap = try store.branches["main"]
            let reader = try BlobReader(store: store, id: try snap.objectID(try RepoPath(path)))
            var offset = 0
            while offset < reader.size {
                let chunk = try reader.read(at: offset, count: slice)
                _ = chunk.withUnsafeBytes { write(out, $0.baseAddress, $0.count) }
                offset += chunk.count
            }
        }
    }
}

struct Resolve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Resolve a revision in a fresh process (cold caches).")
    @Argument var repo: String
    @Argument var revision: String
    @Flag(help: "Resolve once untimed first: the cost in a long-running process (the mount).")
    var warm = false

    func run() throws {
        let store = try Store.open(repo, create: false)
        var found = ""
        if warm { _ = try store.resolve(revision, branch: "main") }
        try timed { found = try store.resolve(revision, branch: "main").commitHash }
        FileHandle.standardError.write(Data("\(revision) -> \(found)\n".utf8))
    }
}

struct MergeDiverged: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Two branches each commit N new files (and change one shared file) from one base; time merging one into the other.")
    @Argument var repo: String
    @Option var files = 10_000

    func run() throws {
        let store = try Store.open(repo)
        let base = try store.branches["main"].write("shared.txt", Array((1...100).map { "line \($0)\n" }.joined().utf8))
        try store.branches.set("other", to: base)
        for (branch, side) in [("main", "a"), ("other", "b")] {
            _ = try store.branches[branch].batch { b in
                // The same 100 directories on both sides, so every one of them is merged.
                for i in 0..<files { try b.write(try RepoPath("d\(i % 100)/\(side)\(i)"), Array("\(side) \(i)\n".utf8)) }
                var lines = (1...100).map { "line \($0)\n" }
                lines[side == "a" ? 0 : 99] = "changed on \(side)\n"
                try b.write("shared.txt", Array(lines.joined().utf8))
            }
        }
        let other = try store.branches["other"].commitID
        try timed { _ = try store.merge(other, into: "main", label: "other") }
    }
}
