import Foundation

/// Every lazy fetch brings one pack: reading files one by one makes hundreds, and every
/// lookup of an object not in them searches them all. git's own answer (`gc --auto` past 50
/// packs) leaves them alone, as they are kept (`FetchedContent.keepMark`); instead, past
/// `mergeAbove` fetched packs, the least recently read are merged a few at a time into one
/// blob-only promisor pack, so that dropping still goes by when content was read.
extension FetchedContent {
    static let mergeAbove = 40
    /// At most this share of the bound in one merged pack, so one drop never takes much.
    static let mergeShare = 16

    /// Merges the least recently read fetched packs until at most `mergeAbove` remain; true
    /// if packs were replaced (the object database must then be reopened).
    func mergeOldPacks(_ items: [Item]) -> Bool {
        var packs = items.filter { $0.lfsOID == nil }.sorted { $0.lastRead < $1.lastRead }
        var merged = false
        let most = max(limit / Self.mergeShare, 1 << 20)
        // Each round replaces at least two packs by one: at most as many rounds as packs.
        for _ in 0..<packs.count where packs.count > Self.mergeAbove {
            var group: [Item] = []
            var size = 0
            // Down to half the threshold, so that the next merge is many fetches away; the
            // most recently read stay apart.
            let fewer = packs.count - Self.mergeAbove / 2 + 1
            for pack in packs {
                guard group.count < 2 || (size + pack.size <= most && group.count < fewer) else { break }
                group.append(pack)
                size += pack.size
            }
            guard group.count >= 2, merge(group) else { break }
            merged = true
            packs.removeFirst(group.count)
        }
        return merged
    }

    /// One pack of every object of `group` (`git pack-objects --stdin-packs`), named a kept
    /// promisor pack and read last when the latest of them was; the group is removed only
    /// once the new pack is seen to hold every object of it.
    private func merge(_ group: [Item]) -> Bool {
        let names = group.map { ($0.key as NSString).lastPathComponent + ".pack\n" }.joined()
        guard names.utf8.count <= GitCommand.maxInput else { return false }
        let output: GitCommand.Output
        do {
            output = try GitCommand(repository: repository).run(
                ["pack-objects", "--stdin-packs", "--quiet", packDirectory + "/pack"], timeout: 600, input: Array(names.utf8))
        } catch { return false }  // git could not run: the packs stay as they were
        let hash = output.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        guard output.status == 0, hash.count == 40, hash.allSatisfy(\.isHexDigit) else { return false }
        let key = "\(packDirectory)/pack-\(hash)"
        let keys = group.map(\.key)
        if keys.contains(key) { return false }  // the same objects made the same pack: nothing to do
        guard let merged = PackFolder.objects(of: [key]), let old = PackFolder.objects(of: keys), old.isSubset(of: merged),
              FileManager.default.createFile(atPath: key + ".promisor", contents: nil), Self.markKept(key) else {
            PackFolder.remove(key)  // not usable as fetched content: the group stays instead
            return false
        }
        let latest = group.map(\.lastRead).max() ?? 0
        var times = [timespec(tv_sec: Int(latest), tv_nsec: 0), timespec(tv_sec: Int(latest), tv_nsec: 0)]
        _ = utimensat(AT_FDCWD, key + ".promisor", &times, 0)  // a failure only makes it look read now
        replaced(keys, by: key, readAt: latest)
        for old in keys { PackFolder.remove(old) }  // what stays is counted, and dropped, at the next pass
        return true
    }
}
