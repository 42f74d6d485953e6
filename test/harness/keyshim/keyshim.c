/*
 * LD_PRELOAD shim that lets Debian's cifs.upcall (which links libkeyutils dynamically) run on a
 * fake key, so its payload can be compared with ours without a kernel key (parity tests, bench).
 *
 *   KEYSHIM_DESC  the string keyctl_describe_alloc() returns, e.g.
 *                 "cifs.spnego;0;0;39010000;ver=0x2;host=...;pid=0x...;upcall_target=app"
 *   KEYSHIM_OUT   file the key operations are appended to, one line each:
 *                 "instantiate <serial> <hex payload>", "negate <serial> <timeout>",
 *                 "timeout <serial> <secs>", "clear <ring>", "syslog <prio> <message>"
 *
 * cifs.upcall setuid()s to the credential uid before instantiating: create KEYSHIM_OUT mode 0666.
 * syslog is interposed too (cifs.upcall logs only there).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef int32_t key_serial_t;

static void emit(const char *line, size_t len) {
    const char *out = getenv("KEYSHIM_OUT");
    if (!out) return;
    int fd = open(out, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0) return;
    ssize_t w = write(fd, line, len);
    (void)w;
    close(fd);
}

static void emitf(const char *fmt, ...) {
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n >= sizeof(buf)) n = sizeof(buf) - 1;
    emit(buf, (size_t)n);
}

long keyctl_describe_alloc(key_serial_t id, char **buffer) {
    (void)id;
    const char *desc = getenv("KEYSHIM_DESC");
    if (!desc) {
        errno = ENOKEY;
        return -1;
    }
    size_t len = strlen(desc) + 1;
    *buffer = malloc(len);
    if (!*buffer) {
        errno = ENOMEM;
        return -1;
    }
    memcpy(*buffer, desc, len);
    return (long)len;
}

long keyctl_instantiate(key_serial_t id, const void *payload, size_t plen, key_serial_t ringid) {
    (void)ringid;
    size_t size = 64 + plen * 2;
    char *line = malloc(size);
    if (!line) {
        errno = ENOMEM;
        return -1;
    }
    int n = snprintf(line, size, "instantiate %d ", id);
    const unsigned char *p = payload;
    for (size_t i = 0; i < plen; i++) n += snprintf(line + n, size - n, "%02x", p[i]);
    line[n++] = '\n';
    emit(line, (size_t)n);
    free(line);
    return 0;
}

long keyctl_negate(key_serial_t id, unsigned timeout, key_serial_t ringid) {
    (void)ringid;
    emitf("negate %d %u\n", id, timeout);
    return 0;
}

long keyctl_set_timeout(key_serial_t id, unsigned timeout) {
    emitf("timeout %d %u\n", id, timeout);
    return 0;
}

long keyctl_clear(key_serial_t ringid) {
    emitf("clear %d\n", ringid);
    return 0;
}

static void log_line(int prio, const char *fmt, va_list ap) {
    char msg[2048];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    for (char *c = msg; *c; c++)
        if (*c == '\n') *c = ' ';
    emitf("syslog %d %s\n", prio & 7, msg);
}

void syslog(int prio, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    log_line(prio, fmt, ap);
    va_end(ap);
}

void vsyslog(int prio, const char *fmt, va_list ap) { log_line(prio, fmt, ap); }

void __syslog_chk(int prio, int flag, const char *fmt, ...) {
    (void)flag;
    va_list ap;
    va_start(ap, fmt);
    log_line(prio, fmt, ap);
    va_end(ap);
}

void __vsyslog_chk(int prio, int flag, const char *fmt, va_list ap) {
    (void)flag;
    log_line(prio, fmt, ap);
}

void openlog(const char *ident, int option, int facility) {
    (void)ident;
    (void)option;
    (void)facility;
}
