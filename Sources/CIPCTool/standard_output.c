#define _GNU_SOURCE
#include "CIPCTool.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

// stdio keeps only a flag when a write fails, not why: by the time `ipc` checks
// (`cipc_flush_stdout`), errno is long gone. So stdout becomes a stream whose
// writes go to descriptor 1 through this function, which keeps the first error.

static int first_write_error;

static ssize_t write_to_descriptor_1(void *cookie, const char *buffer, size_t size) {
    (void)cookie;
    size_t done = 0;
    while (done < size) {
        ssize_t n = write(STDOUT_FILENO, buffer + done, size - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (first_write_error == 0) first_write_error = errno;
            break;
        }
        done += (size_t)n;
    }
    return (ssize_t)done;  // fewer than `size`: stdio marks the stream failed
}

int cipc_keep_stdout_errors(void) {
    cookie_io_functions_t functions = { .read = NULL, .write = write_to_descriptor_1, .seek = NULL, .close = NULL };
    FILE *stream = fopencookie(NULL, "w", functions);
    if (stream == NULL) return -1;
    if (setvbuf(stream, NULL, isatty(STDOUT_FILENO) ? _IOLBF : _IOFBF, BUFSIZ) != 0) {
        fclose(stream);
        return -1;
    }
    fflush(stdout);
    stdout = stream;
    return 0;
}

int cipc_flush_stdout(void) {
    errno = 0;
    int failed = fflush(stdout) != 0;
    int code = first_write_error != 0 ? first_write_error : errno;
    if (!failed && !ferror(stdout)) return 0;
    clearerr(stdout);
    first_write_error = 0;
    return code != 0 ? code : -1;
}
