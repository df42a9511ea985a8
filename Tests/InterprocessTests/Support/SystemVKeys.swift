import Interprocess

#if canImport(Glibc)
import Glibc
#endif

/// A System V key no other test (or program) is likely to use: the tests' own
/// high byte 0x5e, then random bits. Keys are host-wide, like names.
func uniqueKey() -> IPCKey {
    IPCKey(rawValue: key_t(bitPattern: 0x5e00_0000 | UInt32.random(in: 1...0x00ff_ffff)))
}

/// Removes a System V object a test made, whatever state the test left it in
/// (already removed is fine).
func removeIfPresent(_ kind: SystemVKind, id: Int32) {
    try? kind.remove(id: id)
}
