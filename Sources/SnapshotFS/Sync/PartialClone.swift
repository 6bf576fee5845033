import Crypto
import Foundation

/// A bare partial clone of a URL, made for mounting it without fetching every blob: trees and
/// commits come at once, file contents when something reads them (`PromisedObjects`).
public enum PartialClone {
    /// Whether a repository argument is a URL git can clone rather than a local path:
    /// `scheme://...`, or git's scp-like `[user@]host:path` (a colon before any slash), unless
    /// a local file of that name exists.
    public static func isURL(_ text: String) -> Bool {
        if text.contains("://") { return true }
        guard let colon = text.firstIndex(of: ":"), colon != text.startIndex else { return false }
        if let slash = text.firstIndex(of: "/"), slash < colon { return false }
        return !FileManager.default.fileExists(atPath: text)
    }

    /// Where the clone of `url` is kept under `cache`: the URL's last name and a hash of the
    /// whole URL (`data-3f2a9c1b7e04.git`), so two URLs never share a clone.
    public static func directory(for url: String, in cache: String) -> String {
        var name = url.split(whereSeparator: { $0 == "/" || $0 == ":" }).last.map(String.init) ?? "repository"
        if name.hasSuffix(".git") { name.removeLast(4) }
        name = String(name.map { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) ? $0 : "_" }.prefix(64))
        if name.isEmpty || name.hasPrefix(".") { name = "repository" + name }
        let hash = SHA256.hash(data: Data(url.utf8)).prefix(6).map { String(format: "%02x", $0) }.joined()
        return "\(cache)/\(name)-\(hash).git"
    }

    /// Makes `directory` a bare clone of `url` without blobs (`--filter=blob:none`), unless it
    /// already is a clone of that URL, which is then reused as it is (the mount's sync fetches
    /// what is new). The clone is made under a temporary name beside `directory` and renamed
    /// into place only when complete, so an interrupted clone is never taken for one.
    /// A server that does not filter gives a complete clone, which works the same.
    /// Returns whether a clone was made.
    @discardableResult
    public static func ensure(url: String, directory: String, timeout: TimeInterval = 3600) throws -> Bool {
        if FileManager.default.fileExists(atPath: directory) {
            let origin = try? GitCommand(repository: directory).run(["config", "--get", "remote.origin.url"], timeout: 30)
            // (A folder git cannot read is not a clone of anything: the message below says so.)
            let found = origin?.stdout.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            guard origin?.status == 0, found == url else {
                throw SnapshotError.invalidArgument("\(directory) exists and is not a clone of \(url)"
                    + (found.isEmpty ? "" : " (its origin is \(found))") + ": give another --repo, or remove it")
            }
            return false
        }
        let parent = (directory as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: parent.isEmpty ? "." : parent, withIntermediateDirectories: true)
        let temporary = directory + ".partial-\(getpid())"
        try? FileManager.default.removeItem(atPath: temporary)  // left by a clone killed at this pid: ours to remove
        let output = try GitCommand(repository: nil).run(
            ["clone", "--bare", "--filter=blob:none", "--quiet", "--", url, temporary], timeout: timeout)
        guard output.status == 0 else {
            try? FileManager.default.removeItem(atPath: temporary)  // a failed clone's leftovers: the error below says why
            throw SnapshotError.remote("cannot clone \(url): \(output.message)")
        }
        guard rename(temporary, directory) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: temporary)  // the rename's error below is what matters
            throw SnapshotError.posix("cannot move the clone to \(directory): \(reason)")
        }
        return true
    }
}
