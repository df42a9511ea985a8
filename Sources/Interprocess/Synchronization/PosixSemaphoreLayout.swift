#if canImport(Glibc)
import Glibc
#endif

/// What a POSIX semaphore of this C library looks like in memory, so the library
/// can tell a real semaphore from junk before it touches one (SPEC Y1, Y2).
///
/// glibc on 64-bit Linux (x86_64, aarch64) keeps a semaphore as `struct new_sem`
/// (nptl/internaltypes.h) at the start of a 32-byte `sem_t`, little-endian:
///
/// | bytes | field | a well-formed semaphore |
/// |---|---|---|
/// | 0..<4 | value (low half of the 64-bit `data`) | at most SEM_VALUE_MAX |
/// | 4..<8 | waiter count (high half of `data`) | anything (a killed waiter leaves it high) |
/// | 8..<12 | `private`: the futex flag the C library XORs in | 128 (`FUTEX_SHARED`) for a process-shared semaphore, 0 for one private to a process |
/// | 12..<32 | padding | anything |
///
/// `sem_open` writes a named semaphore's file (`/dev/shm/sem.NAME`) as exactly
/// these 32 bytes with `private` 128; any other size or flag is not a semaphore.
public enum PosixSemaphoreLayout {
    /// `sizeof(sem_t)`: 32 bytes.
    public static let size = MemoryLayout<sem_t>.size

    /// The byte offset of the value (the futex word).
    static let valueOffset = 0
    /// The byte offset of the `private` flag.
    static let privateOffset = 8
    /// `private` of a process-shared semaphore (glibc's `FUTEX_SHARED`, which is
    /// `FUTEX_PRIVATE_FLAG`: the flag is XORed into the futex operation).
    static let processShared: UInt32 = 128
    /// `private` of a semaphore private to one process (`sem_init` with pshared 0).
    static let processPrivate: UInt32 = 0

    /// The value of the process-shared semaphore in `bytes` — a whole `sem.NAME`
    /// file, or a semaphore's bytes copied out of shared memory — or `EINVAL`
    /// naming what is wrong: `0 bytes; a semaphore of this C library has 32`,
    /// `value 1651663207 is above SEM_VALUE_MAX (2147483647)`.
    public static func validate(
        _ bytes: some Collection<UInt8>, object: String, operation: String = "sem_open"
    ) throws(IPCError) -> UInt32 {
        func malformed(_ detail: String) -> IPCError {
            IPCError(.invalidArgument, operation: operation, object: object, detail: "not a semaphore: " + detail)
        }
        let bytes = Array(bytes)
        try checkSize(bytes.count, object: object, operation: operation)
        let value = word(bytes, at: valueOffset)
        let flag = word(bytes, at: privateOffset)
        if value > UInt32(SemaphoreOperations.maximumValue) {
            throw malformed("value \(value) is above SEM_VALUE_MAX (\(SemaphoreOperations.maximumValue))")
        }
        if flag != processShared {
            throw malformed("its futex flag is \(flag); a process-shared semaphore has \(processShared)")
        }
        return value
    }

    /// Throws `EINVAL` unless `count` is the size of a semaphore: a file of
    /// another size is refused before it is mapped.
    static func checkSize(_ count: Int, object: String, operation: String = "sem_open") throws(IPCError) {
        if count != size {
            throw IPCError(.invalidArgument, operation: operation, object: object,
                           detail: "not a semaphore: \(count) bytes; a semaphore of this C library has \(size)")
        }
    }

    /// The little-endian 32-bit word at `offset`.
    static func word(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << (8 * $1) }
    }

    /// The bytes of a new process-shared semaphore with `value`, as `sem_open`
    /// writes them into the file before linking it under its name.
    static func newSemaphore(value: UInt32) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: size)
        for index in 0..<4 {
            bytes[valueOffset + index] = UInt8(truncatingIfNeeded: value >> (8 * index))
            bytes[privateOffset + index] = UInt8(truncatingIfNeeded: processShared >> (8 * index))
        }
        return bytes
    }
}
