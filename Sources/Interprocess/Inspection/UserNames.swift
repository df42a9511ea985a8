#if canImport(Glibc)
import Glibc
#endif

/// User names for the inventory's owner column, looked up once per uid.
struct UserNames {
    private var known: [uid_t: String?] = [:]

    /// The login name of `uid` from the password database, or nil when it has none.
    ///
    /// The corresponding C function is `getpwuid_r`.
    mutating func name(of uid: uid_t) -> String? {
        if let cached = known[uid] { return cached }
        let found = Self.lookUp(uid)
        known[uid] = found
        return found
    }

    static func lookUp(_ uid: uid_t) -> String? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getpwuid_r(uid, &entry, &buffer, buffer.count, &result) == 0, result != nil, let name = entry.pw_name else { return nil }
        return String(cString: name)
    }
}
