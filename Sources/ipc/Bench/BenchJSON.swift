/// The JSON document of `ipc bench --json FILE`: the schema of refbench's `ref`,
/// so a result and the C floor compare field by field, plus extra fields.
///
/// The top level is one object whose named array `results` holds the rows (the
/// shape `ipc ls --json` and `ipc limits --json` share: an object with a named
/// array, `results`); the other members describe the run.
///
/// ```
/// {
///  "results": [
///   {
///    "mechanism": "pipe",            stable name (see DESIGN.md "Measuring")
///    "size": 64,                     message size in bytes
///    "impl": "swift",                "c" in ref's output
///    "rtt_ns": {                     round trip; only at the latency sizes (64, 4096)
///     "p50": 51234, "p99": 60123, "p999": 85345,     as in ref
///     "min": 40012, "max": 912345, "mean": 52011.5,  extra
///     "n": 19234, "warmup": 10000                    extra: timed and warm-up round trips
///    },
///    "throughput": {                 one-way; at every size (64, 4096, 65536)
///     "messages_per_s": 512345.6, "bytes_per_s": 32790118.4,   as in ref (median)
///     "reps": 3, "secs": 0.25, "rep_messages_per_s": [...]     extra
///    },
///    "note": "queue depth 6 (RLIMIT_MSGQUEUE)",  extra: only when there is one
///    "error": "bench-peer for … died (…)"         extra: only when the run failed
///   }, ...                            or was interrupted; what it measured
///                                     before is kept (rtt_ns without throughput)
///  ],
///  "skipped": [{"mechanism": "posix-mq", "size": 65536, "reason": "…"}],
///                                    extra: only when a size could not be run
///  "quick": false,                   extra: --quick was given
///  "cpus": {"parent": 0, "child": 1}, extra: pinning; null with --no-pin or
///                                    fewer than two CPUs
///  "interrupted": "SIGINT"           extra: only when a signal ended the bench;
///                                    the mechanisms not reached are missing
/// }
/// ```
/// Latencies are integers (ns); rates are numbers. A size a mechanism cannot carry
/// is left out, as ref leaves it out.
enum BenchJSON {
    static func document(_ results: [BenchResult], skipped: [BenchSkip] = [], quick: Bool, placement: CPUPlacement,
                         interruptedBy interruption: String? = nil) -> JSONValue {
        var cpus: JSONValue = .null
        if let parent = placement.parent, let child = placement.child {
            cpus = .object([("parent", .integer(Int64(parent))), ("child", .integer(Int64(child)))])
        }
        var members: [(String, JSONValue)] = [("results", .array(results.map(result)))]
        if !skipped.isEmpty {
            members.append(("skipped", .array(skipped.map { skip in
                .object([("mechanism", .string(skip.mechanism)), ("size", .integer(Int64(skip.size))), ("reason", .string(skip.reason))])
            })))
        }
        members += [("quick", .bool(quick)), ("cpus", cpus)]
        if let interruption { members.append(("interrupted", .string(interruption))) }
        return .object(members)
    }

    static func result(_ result: BenchResult) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("mechanism", .string(result.mechanism)),
            ("size", .integer(Int64(result.size))),
            ("impl", .string("swift")),
        ]
        if let latency = result.latency {
            members.append(("rtt_ns", .object([
                ("p50", .unsigned(latency.p50)), ("p99", .unsigned(latency.p99)), ("p999", .unsigned(latency.p999)),
                ("min", .unsigned(latency.min)), ("max", .unsigned(latency.max)), ("mean", .number((latency.mean * 10).rounded() / 10)),
                ("n", .integer(Int64(latency.count))), ("warmup", .integer(Int64(latency.warmup))),
            ])))
        }
        if let throughput = result.throughput {
            members.append(("throughput", .object([
                ("messages_per_s", .number((throughput.messagesPerSecond * 10).rounded() / 10)),
                ("bytes_per_s", .number(throughput.bytesPerSecond.rounded())),
                ("reps", .integer(Int64(throughput.repetitions.count))),
                ("secs", .number(throughput.seconds)),
                ("rep_messages_per_s", .array(throughput.repetitions.map { .number(($0 * 10).rounded() / 10) })),
            ])))
        }
        if let note = result.note { members.append(("note", .string(note))) }
        if let failure = result.failure { members.append(("error", .string(failure))) }
        return .object(members)
    }
}
