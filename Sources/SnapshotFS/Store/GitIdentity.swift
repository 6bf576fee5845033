import CGit2
import Foundation

/// A name and email, as a commit's author or committer line holds them.
public struct Identity: Sendable, Equatable {
    public var name: String
    public var email: String

    public init(name: String, email: String) {
        self.name = name
        self.email = email
    }

    /// vost's own, for when git has none.
    public static let vost = Identity(name: "vost", email: "vost@localhost")

    /// Who commits in `repository` as git decides it: `GIT_AUTHOR_NAME`/`GIT_AUTHOR_EMAIL`
    /// (`GIT_COMMITTER_*` for the committer), else `user.name`/`user.email` from the
    /// repository's config, the user's (`~/.gitconfig`, `$XDG_CONFIG_HOME/git/config`) or the
    /// system's; each part that git has none for is vost's. A repository that cannot be
    /// opened (not made yet) is read for the user's and system's config only.
    public static func fromGit(repository: String,
                               environment: [String: String] = ProcessInfo.processInfo.environment) -> (author: Identity, committer: Identity) {
        _ = Libgit2.ready
        let configured = GitRepository.configStrings(["user.name", "user.email"], repository: repository)
        func pick(_ kind: String) -> Identity {
            func value(_ key: String, _ config: String, _ fallback: String) -> String {
                if let set = environment["GIT_\(kind)_\(key)"], !set.isEmpty { return set }
                return configured[config].flatMap { $0.isEmpty ? nil : $0 } ?? fallback
            }
            return Identity(name: value("NAME", "user.name", vost.name), email: value("EMAIL", "user.email", vost.email))
        }
        return (pick("AUTHOR"), pick("COMMITTER"))
    }
}

extension GitRepository {
    /// Values of `names` from the repository's whole config (or, when it cannot be opened,
    /// from the user's and system's), missing ones left out.
    static func configStrings(_ names: [String], repository: String) -> [String: String] {
        // A repository that cannot be opened here fails to open as a store right after, with
        // its reason; its identity then matters to no commit.
        if let repo = try? GitRepository.open(repository) {
            return Dictionary(uniqueKeysWithValues: names.compactMap { name in repo.configString(name).map { (name, $0) } })
        }
        var config: OpaquePointer?
        guard git_config_open_default(&config) == 0 else { return [:] }
        defer { git_config_free(config) }
        var found: [String: String] = [:]
        for name in names {
            var buffer = git_buf()
            defer { git_buf_dispose(&buffer) }
            if git_config_get_string_buf(&buffer, config, name) == 0, let text = buffer.ptr { found[name] = String(cString: text) }
        }
        return found
    }
}
