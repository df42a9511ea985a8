#ifndef C_INTERPROCESS_ERRNO_H
#define C_INTERPROCESS_ERRNO_H

// The errno of the last system call an adapter made on this thread, captured by
// the adapter right after the call (Core/Syscalls.swift `adapter`), so that no
// allocation, lock or log between the call and the error report can clobber it.

/// Stores the current `errno` as this thread's captured errno and returns it.
int cipc_errno_capture(void);
/// This thread's captured errno.
int cipc_errno_captured(void);
/// Sets this thread's captured errno (and `errno`) to `code`.
void cipc_errno_set_captured(int code);

/// Marks the calling thread as one of the library's own (`LibraryThread.start`), so
/// fault injection and the call log can tell its calls from the program's.
void cipc_library_thread_mark(void);
/// 1 on a thread `cipc_library_thread_mark` marked, else 0.
int cipc_library_thread_is_marked(void);

#endif
