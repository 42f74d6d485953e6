/*
 * runstat: runs processes and reports what the kernel accounted to them, for the benchmark
 * (test/bench/). Node cannot measure a child honestly (spawnSync has no rusage), GNU time
 * covers one process only, and a storm of 100 concurrent upcalls needs a sampler for the sum of
 * the live processes' resident sets; hence this small helper.
 *
 *   runstat JOBFILE [SAMPLE_MS]
 *
 * JOBFILE holds one or more jobs, each a block of lines ended by "end":
 *   arg <argument>          argv[0] first (an absolute path: execve, no PATH search)
 *   env <NAME=value>        the complete environment (nothing is inherited)
 *   out <path>              stdout and stderr of the job (default /dev/null)
 *   end
 * All jobs start at once (vfork + execve, so the child never touches more than the helper's
 * few pages). While any runs, every SAMPLE_MS (default 5; 0 = never) the helper sums VmRSS
 * and RssAnon of the live children (/proc/<pid>/status) and keeps the peaks. Output, one line
 * per job then one summary line, space-separated key=value:
 *   job=<i> pid=<pid> status=<exit or 128+signal> wall_us=<fork→reaped> user_us= sys_us= maxrss_kb=
 *   total wall_us=<first fork→last reaped> peak_rss_kb=<sampled sum> peak_anon_kb= samples=<n>
 *     sum_maxrss_kb=<sum of the per-process peaks: an upper bound for the total peak>
 * wait4() gives user+sys CPU of the whole child (all its threads) and ru_maxrss, the peak
 * resident set of its address space (including the vfork'd instant before exec, ~0).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_JOBS 4096
#define MAX_ITEMS 256

struct job {
    char *argv[MAX_ITEMS + 1];
    char *envp[MAX_ITEMS + 1];
    int argc, envc;
    const char *out;
    pid_t pid;
    int done, status;
    long long started_ns, wall_ns;
    struct rusage ru;
};

static struct job jobs[MAX_JOBS];
static int njobs;

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *what) {
    fprintf(stderr, "runstat: %s: %s\n", what, strerror(errno));
    exit(2);
}

static void parse(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) die(path);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    struct job *j = &jobs[0];
    while ((n = getline(&line, &cap, f)) >= 0) {
        if (n > 0 && line[n - 1] == '\n') line[--n] = 0;
        if (n == 0) continue;
        if (strcmp(line, "end") == 0) {
            if (j->argc == 0) { fprintf(stderr, "runstat: job %d has no arg\n", njobs); exit(2); }
            if (++njobs >= MAX_JOBS) { fprintf(stderr, "runstat: too many jobs\n"); exit(2); }
            j = &jobs[njobs];
            continue;
        }
        char *value = strchr(line, ' ');
        if (!value) { fprintf(stderr, "runstat: bad line: %s\n", line); exit(2); }
        *value++ = 0;
        if (strcmp(line, "arg") == 0 && j->argc < MAX_ITEMS) j->argv[j->argc++] = strdup(value);
        else if (strcmp(line, "env") == 0 && j->envc < MAX_ITEMS) j->envp[j->envc++] = strdup(value);
        else if (strcmp(line, "out") == 0) j->out = strdup(value);
        else { fprintf(stderr, "runstat: bad line: %s %s\n", line, value); exit(2); }
    }
    free(line);
    fclose(f);
    if (njobs == 0) { fprintf(stderr, "runstat: no job in %s\n", path); exit(2); }
}

/* VmRSS and RssAnon of a live process, in KiB (0 when it is gone or a zombie). */
static void resident(pid_t pid, long *rss, long *anon) {
    char path[64], buf[4096];
    *rss = *anon = 0;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return;
    buf[n] = 0;
    char *p = strstr(buf, "\nVmRSS:");
    if (p) *rss = strtol(p + 7, NULL, 10);
    p = strstr(buf, "\nRssAnon:");
    if (p) *anon = strtol(p + 9, NULL, 10);
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: runstat JOBFILE [SAMPLE_MS]\n");
        return 2;
    }
    parse(argv[1]);
    long sample_ms = argc == 3 ? strtol(argv[2], NULL, 10) : 5;

    /* children must not inherit our signal dispositions or block mask */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);

    long long first = now_ns();
    for (int i = 0; i < njobs; i++) {
        struct job *j = &jobs[i];
        j->argv[j->argc] = NULL;
        j->envp[j->envc] = NULL;
        int fd = open(j->out ? j->out : "/dev/null", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd < 0) die(j->out ? j->out : "/dev/null");
        int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (in < 0) die("/dev/null");
        j->started_ns = now_ns();
        pid_t pid = vfork();
        if (pid < 0) die("vfork");
        if (pid == 0) {
            dup2(in, 0);
            dup2(fd, 1);
            dup2(fd, 2);
            execve(j->argv[0], j->argv, j->envp);
            _exit(127);
        }
        j->pid = pid;
        close(fd);
        close(in);
    }

    long peak_rss = 0, peak_anon = 0, samples = 0;
    int remaining = njobs;
    while (remaining > 0) {
        int status;
        struct rusage ru;
        pid_t pid = wait4(-1, &status, sample_ms > 0 ? WNOHANG : 0, &ru);
        if (pid < 0) {
            if (errno == EINTR) continue;
            die("wait4");
        }
        if (pid == 0) {
            long rss_sum = 0, anon_sum = 0;
            for (int i = 0; i < njobs; i++) {
                if (jobs[i].done) continue;
                long rss, anon;
                resident(jobs[i].pid, &rss, &anon);
                rss_sum += rss;
                anon_sum += anon;
            }
            samples++;
            if (rss_sum > peak_rss) peak_rss = rss_sum;
            if (anon_sum > peak_anon) peak_anon = anon_sum;
            struct timespec ts = { sample_ms / 1000, (sample_ms % 1000) * 1000000L };
            nanosleep(&ts, NULL);
            continue;
        }
        long long t = now_ns();
        for (int i = 0; i < njobs; i++) {
            if (jobs[i].pid != pid || jobs[i].done) continue;
            jobs[i].done = 1;
            jobs[i].wall_ns = t - jobs[i].started_ns;
            jobs[i].ru = ru;
            jobs[i].status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            remaining--;
        }
    }
    long long total = now_ns() - first;

    long sum_maxrss = 0;
    for (int i = 0; i < njobs; i++) {
        struct job *j = &jobs[i];
        long long user = (long long)j->ru.ru_utime.tv_sec * 1000000 + j->ru.ru_utime.tv_usec;
        long long sys = (long long)j->ru.ru_stime.tv_sec * 1000000 + j->ru.ru_stime.tv_usec;
        sum_maxrss += j->ru.ru_maxrss;
        printf("job=%d pid=%d status=%d wall_us=%lld user_us=%lld sys_us=%lld maxrss_kb=%ld\n",
               i, (int)j->pid, j->status, j->wall_ns / 1000, user, sys, j->ru.ru_maxrss);
    }
    printf("total wall_us=%lld peak_rss_kb=%ld peak_anon_kb=%ld samples=%ld sum_maxrss_kb=%ld\n",
           total / 1000, peak_rss, peak_anon, samples, sum_maxrss);
    return 0;
}
