import Foundation
import Testing
import TestSupport

/// "No version an fsync returned for is lost" under sync churn: three mounts of three clones
/// of one `git daemon` server and a plain git writer, all writing as fast as they can
/// (`scripts/churn.py`, which `scripts/bench` runs for longer). Before the fix, a file that
/// a merge replaced could still be opened through the kernel's old inode, and what was
/// written there was fsynced into no commit: 5 of 2,203 versions lost in 30 s.
@Suite(.serialized) struct ChurnTests {
    @Test(arguments: [1, 2, 3]) func noFsyncedVersionIsLost(seed: Int) throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let output = try run(["sh", "-c", #"python3 "$0" --bin "$1" --seconds 10 --seed "$2" 2>&1; echo "churn-exit=$?""#,
                              root + "/scripts/churn.py", try vostmountBinary(), "\(seed)"])
        let lines = output.split(separator: "\n").map(String.init)
        #expect(lines.last == "churn-exit=0", "seed \(seed): \(output)")
        let report = lines.first { $0.hasPrefix("{") }.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        guard let report else {
            Issue.record("seed \(seed): no report: \(output)")
            return
        }
        #expect(report["lost"] as? Int == 0, "seed \(seed): \(output)")
        // It did churn: many fsyncs on every mount, and every side converged.
        #expect((report["fsyncs"] as? Int ?? 0) > 150, "seed \(seed): \(output)")
        #expect(report["converged"] as? Bool == true, "seed \(seed): \(output)")
    }
}
