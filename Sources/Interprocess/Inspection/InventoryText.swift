#if canImport(Glibc)
import Glibc
#endif

/// Reading the kernel's text files for the inventory: /proc/sysvipc/*,
/// /proc/locks, /proc/self/mountinfo and a POSIX queue's status line.
enum InventoryText {
    /// The whole file as text. The kernel builds these files as they are read,
    /// so they are read to the end in one pass, never by size.
    static func read(_ path: String) throws(IPCError) -> String {
        let fd = system_open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY, 0)
        if fd < 0 { throw IPCError.last("open", object: IPCError.describe(path: path)) }
        let file = OwnedDescriptor(adoptingRaw: fd)
        return String(decoding: try file.readToEnd(chunk: 65536), as: UTF8.self)
    }

    /// The lines of `text` split into whitespace-separated fields; empty lines dropped.
    static func rows(_ text: String) -> [[Substring]] {
        text.split(separator: "\n").map { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }) }.filter { !$0.isEmpty }
    }
}

/// The names in a directory, without "." and "..", decoded as UTF-8 (for /proc,
/// whose names are digits and known words; `ObjectDirectory` keeps names exact).
///
/// The corresponding C functions are `opendir`, `readdir` and `closedir`.
func directoryEntries(_ path: String) throws(IPCError) -> [String] {
    guard let directory = system_opendir(path) else { throw IPCError.last("opendir", object: IPCError.describe(path: path)) }
    defer { _ = system_closedir(directory) }
    return try directoryEntryBytes(directory, path: path).map { String(decoding: $0, as: UTF8.self) }
}

/// The exact names `readdir` gives for an open directory stream, without "." and "..".
func directoryEntryBytes(_ directory: OpaquePointer, path: String) throws(IPCError) -> [[UInt8]] {
    var names: [[UInt8]] = []
    while let entry = system_readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in Array(raw.prefix { $0 != 0 }) }
        if name != Array(".".utf8) && name != Array("..".utf8) { names.append(name) }
    }
    if lastErrno != 0 { throw IPCError.last("readdir", object: IPCError.describe(path: path)) }
    return names
}

/// The exact target of a symbolic link (a /proc/PID/fd entry), or nil.
///
/// The corresponding C function is `readlink`.
func linkTarget(_ path: String) -> [UInt8]? {
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let count = system_readlink(path, &buffer, buffer.count - 1)
    guard count >= 0 else { return nil }
    return buffer[0..<count].map { UInt8(bitPattern: $0) }
}
