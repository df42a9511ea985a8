import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Whether this test process runs under the thread sanitizer
/// (`swift test --sanitize=thread`, the TSan stage of `.ci/run`).
///
/// Detected at run time: the TSan runtime linked into an instrumented binary
/// exports `__tsan_init`, which `dlsym(RTLD_DEFAULT, …)` finds; a normal build has
/// no such symbol. (Swift has no compile-time condition for a sanitizer, and an
/// environment variable would miss a sanitized run started by hand.)
enum ThreadSanitizer {
    static let isEnabled: Bool = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "__tsan_init") != nil
}

extension Trait where Self == ConditionTrait {
    /// Skips a test under the thread sanitizer, saying why it cannot run there.
    static func disabledUnderThreadSanitizer(_ reason: String) -> Self {
        .disabled(if: ThreadSanitizer.isEnabled, Comment(rawValue: "cannot run under the thread sanitizer: " + reason))
    }
}
