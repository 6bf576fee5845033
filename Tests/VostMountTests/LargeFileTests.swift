import Foundation
import Testing
@testable import SnapshotFS
import TestSupport

/// A file larger than the caches: read through the mount front to back, at random offsets
/// in history, and compared byte for byte. 1 GiB with `VOST_SLOW=1`; otherwise 64 MiB,
/// which takes the same paths (streamed, spooled) in seconds.
@Suite(.serialized) struct LargeFileTests {
    @Test func largeFileReadsBackExactlyInAnyOrder() throws {
        let slow = ProcessInfo.processInfo.environment["VOST_SLOW"] == "1"
        let size = slow ? 1 << 30 : 64 << 20
        let dir = TempDir("large")
        let source = dir.sub("big.bin")
        // Incompressible-ish content, generated in 1 MiB pieces (no 1 GiB buffer in the test).
        try createFile(source)
        let handle = try #require(FileHandle(forWritingAtPath: source))
        var piece = [UInt8](repeating: 0, count: 1 << 20)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<(size >> 20) {
            for i in stride(from: 0, to: piece.count, by: 8) {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17
                withUnsafeBytes(of: state) { for j in 0..<8 { piece[i + j] = $0[j] } }
            }
            handle.write(Data(piece))
        }
        try handle.close()
        let repo = dir.sub("r.git")
        let store = try Store.open(repo)
        let snap = try store.branches["main"].write("big.bin", fromFile: source)
        _ = try snap.write("later.txt", bytes("x"))
        let mount = try Mount(repo, in: dir)
        defer { mount.unmount() }
        try run(["cmp", source, mount.path("big.bin")])
        #expect(try run(["stat", "-c", "%s", mount.path("@~1/big.bin")]) == "\(size)\n")
        let original = try #require(FileHandle(forReadingAtPath: source))
        let viaHistory = try #require(FileHandle(forReadingAtPath: mount.path("@~1/big.bin")))
        defer { try? original.close(); try? viaHistory.close() }
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<20 {
            let offset = UInt64.random(in: 0..<UInt64(size - 4096), using: &rng)
            try original.seek(toOffset: offset)
            try viaHistory.seek(toOffset: offset)
            #expect(original.readData(ofLength: 4096) == viaHistory.readData(ofLength: 4096), "offset \(offset)")
        }
        // The daemon's memory did not grow with the file.
        let pid = try run(["pgrep", "-f", "vostmount .*\(mount.point)"]).split(separator: "\n").first.map(String.init) ?? ""
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let peak = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }?.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? Int.max
        #expect(peak < 128 << 10, "daemon peak RSS \(peak) kB")
    }
}
