/// `-o` options, as given on the command line or by `mount.fuse3` from /etc/fstab: ours
/// (`branch=`, `ref=`, `remote=`, `fetch_interval=`, `push_timeout=`, `notes`, `nolfs`, `lfs_threshold=`,
/// `lfs_fetch=`, `lfs_timeout=`, `nopassthrough`, `cache_size=`, `noopen`) are taken out, the kernel's and libfuse's are passed on, and the
/// ones only `mount(8)` cares about (`defaults`, `noauto`, `user`, `_netdev`...) are dropped.
struct MountOptions {
    var branch: String?
    var ref: String?
    var readOnly = false
    /// `nonempty`: mount over a directory that has files (libfuse 3 dropped the option).
    var nonEmpty = false
    /// `notes`: as `--notes`.
    var notes = false
    /// `nolfs`: as `--no-lfs`; `lfs_threshold=SIZE`: as `--lfs-threshold`.
    var noLFS = false
    var lfsThreshold: String?
    /// `lfs_fetch=all|open`, `lfs_timeout=SECONDS`: as `--lfs-fetch`, `--lfs-timeout`.
    var lfsFetch: String?
    var lfsTimeout: String?
    /// `cache_size=SIZE`: as `--cache-size`.
    var cacheSize: String?
    /// `nopassthrough`: as `--no-passthrough`.
    var noPassthrough = false
    /// `noopen`: as `--no-open`.
    var noOpen = false
    var remote: String?
    /// Numbers as given: `ArgumentChecks` says what is wrong with them.
    var fetchInterval: String?
    var pushTimeout: String?
    var kernel: [String] = []

    /// What libfuse's mount accepts; anything else would make the mount fail.
    static let passed: Set<String> = [
        "suid", "nosuid", "dev", "nodev", "exec", "noexec", "async", "sync", "dirsync",
        "atime", "noatime", "nodiratime", "relatime", "norelatime", "strictatime", "nostrictatime",
        "allow_other", "allow_root", "default_permissions",
    ]

    init(parsing values: [String]) {
        var allowOther = false
        for value in values {
            for option in value.split(separator: ",").map(String.init) where !option.isEmpty {
                if option.hasPrefix("branch=") {
                    branch = String(option.dropFirst(7))
                } else if option.hasPrefix("ref=") {
                    ref = String(option.dropFirst(4))
                } else if option.hasPrefix("remote=") {
                    remote = String(option.dropFirst(7))
                } else if option.hasPrefix("fetch_interval=") {
                    fetchInterval = String(option.dropFirst(15))
                } else if option.hasPrefix("push_timeout=") {
                    pushTimeout = String(option.dropFirst(13))
                } else if option == "notes" {
                    notes = true
                } else if option == "nolfs" {
                    noLFS = true
                } else if option == "nopassthrough" {
                    noPassthrough = true
                } else if option == "noopen" {
                    noOpen = true
                } else if option.hasPrefix("lfs_fetch=") {
                    lfsFetch = String(option.dropFirst(10))
                } else if option.hasPrefix("lfs_timeout=") {
                    lfsTimeout = String(option.dropFirst(12))
                } else if option.hasPrefix("lfs_threshold=") {
                    lfsThreshold = String(option.dropFirst(14))
                } else if option.hasPrefix("cache_size=") {
                    cacheSize = String(option.dropFirst(11))
                } else if option == "nonempty" {
                    nonEmpty = true
                } else if option == "ro" {
                    readOnly = true
                } else if Self.passed.contains(option) || option.hasPrefix("max_read=") {
                    if option == "allow_other" { allowOther = true }
                    if !kernel.contains(option) { kernel.append(option) }
                }
            }
        }
        // Other users may look in only under the modes the mount shows.
        if allowOther, !kernel.contains("default_permissions") { kernel.append("default_permissions") }
    }
}
