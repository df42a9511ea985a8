import Interprocess

/// Whether `body` ended by timing out (an `IPCError` with `ETIMEDOUT`, the one way
/// the library reports a deadline that passed); false when it finished. Any other
/// error is rethrown, so the test shows it.
func timesOut(_ body: () throws -> Void) throws -> Bool {
    do { try body() } catch let error as IPCError where error.isTimeout { return true }
    return false
}

/// `timesOut(_:)` for an async body.
func timesOut(_ body: () async throws -> Void) async throws -> Bool {
    do { try await body() } catch let error as IPCError where error.isTimeout { return true }
    return false
}
