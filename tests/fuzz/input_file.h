/*
 * input_file.h - for the harnesses of readers that read files (tests/fuzz/fuzz_csv*.c): the
 * fuzz input written to one temp file per process, removed at exit.
 */
#ifndef DRIFTMON_FUZZ_INPUT_FILE_H
#define DRIFTMON_FUZZ_INPUT_FILE_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char fuzz_path[64];

static void fuzz_remove_input(void)
{
    unlink(fuzz_path);
}

/* Write data[0..size) to the process's temp file (named after prefix) and return its path;
 * abort() when that fails. */
static const char *fuzz_input_file(const char *prefix, const uint8_t *data, size_t size)
{
    static int fd = -1;
    if (fd < 0) {
        snprintf(fuzz_path, sizeof fuzz_path, "/tmp/%s-%ld.csv", prefix, (long)getpid());
        fd = open(fuzz_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
            abort();
        atexit(fuzz_remove_input);
    }
    if (ftruncate(fd, 0) != 0 || (size > 0 && pwrite(fd, data, size, 0) != (ssize_t)size))
        abort();
    return fuzz_path;
}

#endif
