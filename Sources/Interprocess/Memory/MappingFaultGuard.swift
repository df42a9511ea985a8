import CInterprocess

#if canImport(Glibc)
import Glibc
#endif

/// Keeps a shrinking backing object from killing the process (SPEC H1).
///
/// Another process can `ftruncate` a shared memory object or file below the range
/// this process mapped; touching a page past the new end raises `SIGBUS`, whose
/// default action kills the process. No check before an access can close that race,
/// so the library installs a `SIGBUS` handler (once, when the first mapping is
/// made, through `LibrarySignals`) that recognises faults inside the library's own mappings: it maps
/// zero-filled private pages over the rest of that mapping, counts the fault, and
/// lets the access complete (reads see zeros, writes go nowhere). The mapping is
/// then damaged: the access that faulted, and every later one, throws `EFAULT`
/// until the mapping is remapped. A `SIGBUS` anywhere else goes to the handler
/// that was installed before, or gets the default action.
///
/// A program that installs its own `SIGBUS` handler after the library made its
/// first mapping replaces this protection.
///
/// System V shared memory attachments are not watched (`unguarded`): a segment
/// keeps its size from `shmget` to its removal, so its pages never go away under
/// an attachment.
struct MappingFaultGuard {
    /// Nil for a range that is not watched.
    private let slot: UnsafeMutableRawPointer?

    private init(unwatched: Void) { slot = nil }

    /// A guard that watches nothing and never reports a fault.
    static var unguarded: MappingFaultGuard { MappingFaultGuard(unwatched: ()) }

    /// Starts watching [start, start + length). Pair with `unregister()`.
    init(start: UnsafeMutableRawPointer, length: Int) throws(IPCError) {
        guard LibrarySignals.installMappingFaultGuard() else {
            throw IPCError(.invalidArgument, operation: "sigaction", object: "SIGBUS",
                           detail: "cannot install the guard against truncated mappings")
        }
        guard let slot = cipc_mapping_guard_register(start, length) else {
            throw IPCError.last("mmap", detail: "no memory to register the mapping's guard")
        }
        self.slot = slot
    }

    /// Stops watching. The range must not be accessed any more.
    func unregister() {
        if let slot { cipc_mapping_guard_unregister(slot) }
    }

    /// Stops watching while the range is being remapped; `move` resumes.
    func suspend() {
        if let slot { cipc_mapping_guard_suspend(slot) }
    }

    /// Watches a new range (after a remap), with no fault counted.
    func move(to start: UnsafeMutableRawPointer, length: Int) {
        if let slot { cipc_mapping_guard_move(slot, start, length) }
    }

    /// Whether an access has faulted since the range was registered.
    @inline(__always)
    var hasFaulted: Bool {
        guard let slot else { return false }
        return cipc_mapping_guard_faults(slot) != 0
    }

    /// The lowest address that faulted, if any.
    var firstFault: UInt? {
        guard let slot else { return nil }
        let address = cipc_mapping_guard_first_fault(slot)
        return address == 0 ? nil : UInt(address)
    }
}
