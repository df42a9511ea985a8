import Interprocess
import SystemPackage

/// Descriptors the bench child was handed by number (`Spawn.inherit(_:as:)`).
enum InheritedDescriptor {
    /// Takes ownership of descriptor `number` and makes it close-on-exec again.
    static func take(_ number: CInt) -> OwnedDescriptor {
        let descriptor = OwnedDescriptor(adopting: FileDescriptor(rawValue: number))
        try? descriptor.setCloseOnExec(true)
        return descriptor
    }
}
