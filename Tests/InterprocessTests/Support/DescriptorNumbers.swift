#if canImport(Glibc)
import Glibc
#endif

/// The descriptor numbers open in this process.
///
/// Leak checks compare sets of numbers, not counts: the test harness may close
/// descriptors of its own while a check runs, which would upset a count.
func openDescriptorNumbers() -> Set<CInt> {
    guard let dir = opendir("/proc/self/fd") else { return [] }
    defer { closedir(dir) }
    let own = dirfd(dir)
    var result: Set<CInt> = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        if let n = CInt(name, radix: 10), n != own { result.insert(n) }
    }
    return result
}

/// Sockets, pipes and pidfds open now that were not open in `before`. Other kinds
/// are left out: libdispatch and the test harness open timerfds, eventfds and files
/// of their own at moments a test cannot control.
func descriptorsOpened(since before: Set<CInt>) -> Set<CInt> {
    openDescriptorNumbers().subtracting(before).filter(isLibraryKind)
}

/// Whether `fd` is open and a socket, a pipe or a pidfd: the kinds the library
/// opens and the test harness does not.
func isLibraryKind(_ fd: CInt) -> Bool {
    var target = [CChar](repeating: 0, count: 64)
    let n = readlink("/proc/self/fd/\(fd)", &target, target.count - 1)
    guard n > 0 else { return false }
    let text = String(decoding: target.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return text.hasPrefix("socket:") || text.hasPrefix("pipe:") || text == "anon_inode:[pidfd]"
}

/// Ends the lifetime of a `~Copyable` value here.
func drop<T: ~Copyable>(_ value: consuming T) {}

/// The text of a small /proc file, or "" when it cannot be read.
func procFileText(_ path: String) -> String {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return "" }
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: 4096)
    let n = read(fd, &buffer, buffer.count)
    return String(decoding: buffer.prefix(max(0, n)), as: UTF8.self)
}
