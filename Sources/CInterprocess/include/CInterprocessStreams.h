// C shim declarations for the Streams area (see CInterprocess.h for the rules).
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/// Flushes stdio's stdout and says whether every write to it succeeded: 0, the
/// errno of the failed flush, or -1 when an earlier write failed (its errno is
/// gone); clears the error. `fflush`, `ferror` (Swift 6 cannot name `stdout`).
int cipc_flush_stdout(void);
