#if canImport(Glibc)
import Glibc
#endif

/// The bytes a record lock covers (SPEC Y8): `struct flock`'s `l_whence`,
/// `l_start` and `l_len`.
///
/// A length of 0 means "to the end of the file, however long it grows"; a
/// negative length covers the `-length` bytes before `start` (POSIX.1-2008).
public struct LockRange: Hashable, Sendable, CustomStringConvertible {
    /// What `start` counts from: `SEEK_SET`, `SEEK_CUR` (the descriptor's file
    /// offset when the call is made), `SEEK_END` (the file's size then).
    public enum Origin: Hashable, Sendable {
        case fileStart, currentOffset, fileEnd
    }

    public var origin: Origin
    public var start: Int64
    public var length: Int64

    public init(start: Int64 = 0, length: Int64 = 0, from origin: Origin = .fileStart) {
        self.start = start
        self.length = length
        self.origin = origin
    }

    /// Every byte of the file, now and after it grows (start 0, length 0).
    public static let wholeFile = LockRange()

    /// The bytes `range` from the file's start.
    public static func bytes(_ range: Range<Int64>) -> LockRange {
        LockRange(start: range.lowerBound, length: range.upperBound - range.lowerBound)
    }

    /// "bytes 10..<20", "bytes 10 to the end", with the origin when it is not the
    /// file's start.
    public var description: String {
        let base: String
        if length == 0 {
            base = start == 0 && origin == .fileStart ? "the whole file" : "bytes \(start) to the end"
        } else if length > 0 {
            base = "bytes \(start)..<\(start + length)"
        } else {
            base = "bytes \(start + length)..<\(start)"
        }
        switch origin {
        case .fileStart: return base
        case .currentOffset: return base + " from the current offset"
        case .fileEnd: return base + " from the end of the file"
        }
    }

    var whence: Int16 {
        switch origin {
        case .fileStart: Int16(SEEK_SET)
        case .currentOffset: Int16(SEEK_CUR)
        case .fileEnd: Int16(SEEK_END)
        }
    }
}

/// Whether a lock lets others hold the same bytes: `F_RDLCK` / `LOCK_SH`
/// (shared, needs the file open for reading) or `F_WRLCK` / `LOCK_EX`
/// (exclusive, for fcntl locks needs it open for writing).
public enum LockAccess: Hashable, Sendable, CustomStringConvertible {
    case shared, exclusive

    public var description: String { self == .shared ? "shared" : "exclusive" }
}

/// A lock that stands in the way of one asked for (SPEC Y8), as `F_GETLK` /
/// `F_OFD_GETLK` report it.
public struct LockConflict: Hashable, Sendable, CustomStringConvertible {
    /// Who holds it. A POSIX lock belongs to a process; an open-file-description
    /// lock to an open file, which any number of processes may share — the kernel
    /// reports no pid for it (`l_pid` is -1).
    public enum Holder: Hashable, Sendable {
        case process(pid_t)
        case openFileDescription
    }

    public var access: LockAccess
    /// The bytes it covers, from the file's start (length 0: to the end).
    public var range: LockRange
    public var holder: Holder

    public init(access: LockAccess, range: LockRange, holder: Holder) {
        self.access = access
        self.range = range
        self.holder = holder
    }

    /// The holder's pid, when the lock has one (POSIX locks).
    public var holderPID: pid_t? {
        if case .process(let pid) = holder { return pid }
        return nil
    }

    public var description: String {
        let who = switch holder {
        case .process(let pid): "process \(pid)"
        case .openFileDescription: "an open file description, no pid"
        }
        return "\(access) lock on \(range) held by \(who)"
    }
}
