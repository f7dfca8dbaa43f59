/* loadgen: a small closed-loop memcached text-protocol load generator for scripts/bench.py.
 *
 * Compiled at run time by bench.py (gcc -O2); not part of the package.
 *
 * Invariants:
 * - Every key "v<vsize>:<8 digits>" has one deterministic value and flags derived from its
 *   index, so every reply is predictable: each byte read is checked (headers, flags, length,
 *   data, "\r\n", END, STORED). Any mismatch, miss, error line, early close or stall prints
 *   "loadgen: FAIL: ..." on stderr and exits 2. Usage/connect errors exit 1.
 * - Closed loop: each connection has exactly one request (rr, mget) or one batch of -P requests
 *   (pipe, preload) in flight. Latency is per request / per batch, write to last reply byte.
 * - Only requests completed inside the measurement window (after -W warmup, for -d seconds)
 *   count; in-flight replies are still drained and verified before exit.
 * - Server CPU is read from /proc/<-S pid>/stat (all threads) at the window's edges.
 *
 * Modes: rr (one get/set at a time), pipe (-P gets/sets per write), mget (one get of -M keys),
 * preload (set every key once, -P per write, until done; no timing window).
 * Output: one JSON object on stdout.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PLEN 4093 /* prime: pattern period */
#define HBUCKETS (64 * 64)
#define STALL_NS (10LL * 1000000000LL)

enum mode { M_RR, M_PIPE, M_MGET, M_PRELOAD };
enum etype { E_GET, E_SET };

typedef struct {
    enum etype type;
    uint32_t key;   /* first key */
    uint32_t nkeys; /* keys in this get: key, key+1, ... (mod nkeys_total) */
    uint32_t got;   /* values verified so far */
} expect_t;

typedef struct {
    int fd;
    int id;
    uint64_t rng;
    char *sbuf;
    size_t slen, soff;
    char *rbuf;
    size_t rcap, rstart, rend;
    expect_t *q;
    int qhead, qlen;
    int64_t sent_ns;
    int64_t last_rx_ns;
    uint32_t preload_next, preload_end;
    int want_out;
} conn_t;

typedef struct {
    int idx;
    conn_t *conns;
    int nconns;
    uint64_t ops, keys, batches;
    uint64_t hist[HBUCKETS];
} worker_t;

/* settings */
static const char *g_host = "127.0.0.1";
static const char *g_port = "11211";
static enum mode g_mode = M_RR;
static int g_conns = 50, g_threads = 1, g_depth = 16, g_mget = 100, g_setpct = 10;
static uint32_t g_vsize = 32, g_nkeys = 10000;
static double g_duration = 3.0, g_warmup = 0.5;
static int g_server_pid = 0;

static char *g_pattern;
static char g_prefix[32];
static size_t g_prefixlen;
static int64_t g_t_start, g_t_measure, g_t_end;
static volatile int g_stop; /* set when the window ends */

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void fail(conn_t *c, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "loadgen: FAIL: ");
    if (c) fprintf(stderr, "[conn %d] ", c->id);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    fflush(stderr);
    _exit(2);
}

static void die(const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "loadgen: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    exit(1);
}

/* printable, escaped excerpt of wire bytes for error messages */
static const char *excerpt(const char *p, size_t n) {
    static __thread char out[256];
    size_t o = 0;
    for (size_t i = 0; i < n && o < sizeof(out) - 8; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch == '\r') { out[o++] = '\\'; out[o++] = 'r'; }
        else if (ch == '\n') { out[o++] = '\\'; out[o++] = 'n'; }
        else if (ch >= 32 && ch < 127) out[o++] = (char)ch;
        else o += (size_t)snprintf(out + o, sizeof(out) - o, "\\x%02x", ch);
    }
    if (o >= sizeof(out) - 8) { memcpy(out + o, "...", 3); o += 3; }
    out[o] = 0;
    return out;
}

static uint64_t xorshift(uint64_t *s) {
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* 8 zero-padded digits */
static void fmt8(char *p, uint32_t v) {
    for (int i = 7; i >= 0; i--) { p[i] = (char)('0' + v % 10); v /= 10; }
}

static size_t fmtu(char *p, uint32_t v) {
    char tmp[12];
    size_t n = 0;
    do { tmp[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    for (size_t i = 0; i < n; i++) p[i] = tmp[n - 1 - i];
    return n;
}

static uint32_t key_flags(uint32_t k) { return (k * 2654435761u) >> 16; }

static size_t put_key(char *p, uint32_t k) {
    memcpy(p, g_prefix, g_prefixlen);
    fmt8(p + g_prefixlen, k);
    return g_prefixlen + 8;
}

/* value of key k: "<8 digits>:" then the pattern from offset k % PLEN */
static void put_value(char *p, uint32_t k) {
    if (g_vsize >= 9) {
        fmt8(p, k);
        p[8] = ':';
        memcpy(p + 9, g_pattern + k % PLEN, g_vsize - 9);
    } else {
        memcpy(p, g_pattern + k % PLEN, g_vsize);
    }
}

static int check_value(const char *p, uint32_t k) {
    if (g_vsize >= 9) {
        char h[9];
        fmt8(h, k);
        h[8] = ':';
        return memcmp(p, h, 9) == 0 && memcmp(p + 9, g_pattern + k % PLEN, g_vsize - 9) == 0;
    }
    return memcmp(p, g_pattern + k % PLEN, g_vsize) == 0;
}

static void hist_add(uint64_t *h, int64_t v) {
    if (v < 0) v = 0;
    uint64_t u = (uint64_t)v;
    int msb = u ? 63 - __builtin_clzll(u) : 0;
    int shift = msb > 6 ? msb - 6 : 0;
    size_t idx = (size_t)shift * 64 + (size_t)(u >> shift);
    if (idx >= HBUCKETS) idx = HBUCKETS - 1;
    h[idx]++;
}

static double hist_value(size_t idx) { /* bucket midpoint, ns */
    int shift = idx < 128 ? 0 : (int)(idx / 64) - 1;
    double lo = (double)((idx - (size_t)shift * 64) << shift);
    return lo + (double)((1ULL << shift) - 1) / 2.0;
}

static double hist_pct(const uint64_t *h, double pct) {
    uint64_t total = 0;
    for (size_t i = 0; i < HBUCKETS; i++) total += h[i];
    if (!total) return 0;
    uint64_t rank = (uint64_t)(pct / 100.0 * (double)total);
    if (rank >= total) rank = total - 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < HBUCKETS; i++) {
        seen += h[i];
        if (seen > rank) return hist_value(i);
    }
    return 0;
}

static double hist_max(const uint64_t *h) {
    for (size_t i = HBUCKETS; i-- > 0;)
        if (h[i]) return hist_value(i);
    return 0;
}

static void read_server_cpu(double *out) {
    *out = -1;
    if (!g_server_pid) return;
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", g_server_pid);
    FILE *f = fopen(path, "r");
    if (!f) return;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    if (!p) return;
    /* after ") ": field 3 is state; utime is field 14, stime 15 */
    unsigned long long ut = 0, st = 0;
    int field = 2;
    for (char *tok = strtok(p + 1, " "); tok; tok = strtok(NULL, " ")) {
        field++;
        if (field == 14) ut = strtoull(tok, NULL, 10);
        if (field == 15) { st = strtoull(tok, NULL, 10); break; }
    }
    *out = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double client_cpu(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

/* ---- requests ---- */

static void append(conn_t *c, const char *p, size_t n) {
    memcpy(c->sbuf + c->slen, p, n);
    c->slen += n;
}

static void add_get(conn_t *c, uint32_t k) {
    char *p = c->sbuf + c->slen;
    memcpy(p, "get ", 4);
    size_t n = 4 + put_key(p + 4, k);
    p[n++] = '\r';
    p[n++] = '\n';
    c->slen += n;
    c->q[c->qlen++] = (expect_t){E_GET, k, 1, 0};
}

static void add_set(conn_t *c, uint32_t k) {
    char *p = c->sbuf + c->slen;
    memcpy(p, "set ", 4);
    size_t n = 4 + put_key(p + 4, k);
    p[n++] = ' ';
    n += fmtu(p + n, key_flags(k));
    memcpy(p + n, " 0 ", 3);
    n += 3;
    n += fmtu(p + n, g_vsize);
    p[n++] = '\r';
    p[n++] = '\n';
    put_value(p + n, k);
    n += g_vsize;
    p[n++] = '\r';
    p[n++] = '\n';
    c->slen += n;
    c->q[c->qlen++] = (expect_t){E_SET, k, 0, 0};
}

static void add_mget(conn_t *c, uint32_t k0) {
    append(c, "get", 3);
    for (int i = 0; i < g_mget; i++) {
        c->sbuf[c->slen++] = ' ';
        c->slen += put_key(c->sbuf + c->slen, (k0 + (uint32_t)i) % g_nkeys);
    }
    append(c, "\r\n", 2);
    c->q[c->qlen++] = (expect_t){E_GET, k0, (uint32_t)g_mget, 0};
}

static void flush_out(worker_t *w, conn_t *c, int epfd);

/* issue the next request/batch; returns 0 when there is nothing more to send */
static int issue(worker_t *w, conn_t *c, int epfd) {
    c->slen = c->soff = 0;
    c->qhead = c->qlen = 0;
    switch (g_mode) {
    case M_RR:
    case M_PIPE: {
        int n = g_mode == M_RR ? 1 : g_depth;
        for (int i = 0; i < n; i++) {
            uint64_t r = xorshift(&c->rng);
            uint32_t k = (uint32_t)((r >> 8) % g_nkeys);
            if ((int)((r >> 44) % 100) < g_setpct) add_set(c, k);
            else add_get(c, k);
        }
        break;
    }
    case M_MGET:
        add_mget(c, (uint32_t)((xorshift(&c->rng) >> 8) % g_nkeys));
        break;
    case M_PRELOAD:
        for (int i = 0; i < g_depth && c->preload_next < c->preload_end; i++)
            add_set(c, c->preload_next++);
        if (!c->qlen) return 0;
        break;
    }
    c->sent_ns = now_ns();
    flush_out(w, c, epfd);
    return 1;
}

static void set_events(conn_t *c, int epfd, int want_out) {
    if (c->want_out == want_out) return;
    struct epoll_event ev = {.events = EPOLLIN | (want_out ? EPOLLOUT : 0), .data.ptr = c};
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0) die("epoll_ctl: %s", strerror(errno));
    c->want_out = want_out;
}

static void flush_out(worker_t *w, conn_t *c, int epfd) {
    (void)w;
    while (c->soff < c->slen) {
        ssize_t n = send(c->fd, c->sbuf + c->soff, c->slen - c->soff, MSG_NOSIGNAL);
        if (n > 0) { c->soff += (size_t)n; continue; }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) { set_events(c, epfd, 1); return; }
        fail(c, "send failed: %s", n < 0 ? strerror(errno) : "0 bytes");
    }
    set_events(c, epfd, 0);
}

/* ---- replies ---- */

/* verify as many complete replies as are buffered; returns 1 when the batch completed */
static int process_input(conn_t *c) {
    char key[64], hdr[128];
    while (c->qhead < c->qlen) {
        expect_t *e = &c->q[c->qhead];
        char *p = c->rbuf + c->rstart;
        size_t avail = c->rend - c->rstart;
        char *nl = memchr(p, '\n', avail);
        if (!nl) {
            if (avail > 2048) fail(c, "reply line longer than 2048 bytes: '%s'", excerpt(p, 80));
            return 0;
        }
        size_t linelen = (size_t)(nl - p) + 1;
        if (linelen < 2 || nl[-1] != '\r')
            fail(c, "reply line not terminated by \\r\\n: '%s'", excerpt(p, linelen));
        size_t L = linelen - 2;
        if ((L >= 5 && memcmp(p, "ERROR", 5) == 0) ||
            (L >= 12 && memcmp(p, "CLIENT_ERROR", 12) == 0) ||
            (L >= 12 && memcmp(p, "SERVER_ERROR", 12) == 0)) {
            key[put_key(key, (e->key + e->got) % g_nkeys)] = 0;
            fail(c, "protocol error from server in reply to %s %s: '%s'",
                 e->type == E_SET ? "set" : "get", key, excerpt(p, L));
        }
        if (e->type == E_SET) {
            if (L != 6 || memcmp(p, "STORED", 6) != 0) {
                key[put_key(key, e->key)] = 0;
                fail(c, "set %s: expected 'STORED', got '%s'", key, excerpt(p, L));
            }
            c->rstart += linelen;
            c->qhead++;
            continue;
        }
        if (e->got < e->nkeys) {
            uint32_t k = (e->key + e->got) % g_nkeys;
            size_t kl = put_key(key, k);
            key[kl] = 0;
            int hl = snprintf(hdr, sizeof hdr, "VALUE %s %u %u", key, key_flags(k), g_vsize);
            if (L != (size_t)hl || memcmp(p, hdr, (size_t)hl) != 0) {
                if (L == 3 && memcmp(p, "END", 3) == 0)
                    fail(c, "get: key %s missing (END after %u of %u values; every key was "
                            "preloaded, so every get must hit)", key, e->got, e->nkeys);
                fail(c, "get %s: expected header '%s', got '%s'", key, hdr, excerpt(p, L));
            }
            if (avail < linelen + g_vsize + 2) return 0; /* wait for the whole item */
            char *d = p + linelen;
            if (!check_value(d, k)) {
                char want[64];
                size_t show = g_vsize < 40 ? g_vsize : 40;
                put_value(c->sbuf + c->slen, k); /* scratch space past the request */
                memcpy(want, excerpt(c->sbuf + c->slen, show), sizeof want - 1);
                want[sizeof want - 1] = 0;
                fail(c, "get %s: wrong value: expected '%s...', got '%s...'", key, want,
                     excerpt(d, show));
            }
            if (d[g_vsize] != '\r' || d[g_vsize + 1] != '\n')
                fail(c, "get %s: data block of %u bytes not followed by \\r\\n: '%s'", key, g_vsize,
                     excerpt(d + g_vsize, 2));
            c->rstart += linelen + g_vsize + 2;
            e->got++;
            continue;
        }
        if (L != 3 || memcmp(p, "END", 3) != 0) {
            key[put_key(key, e->key)] = 0;
            fail(c, "get (first key %s, %u keys): missing END after the values, got '%s'", key,
                 e->nkeys, excerpt(p, L));
        }
        c->rstart += linelen;
        c->qhead++;
    }
    return 1;
}

static void on_readable(worker_t *w, conn_t *c, int epfd, int64_t t) {
    if (c->rstart == c->rend) c->rstart = c->rend = 0;
    if (c->rcap - c->rend < 65536 && c->rstart > 0) {
        memmove(c->rbuf, c->rbuf + c->rstart, c->rend - c->rstart);
        c->rend -= c->rstart;
        c->rstart = 0;
    }
    ssize_t n = recv(c->fd, c->rbuf + c->rend, c->rcap - c->rend, 0);
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) return;
        fail(c, "recv failed: %s", strerror(errno));
    }
    if (n == 0) {
        if (c->qhead < c->qlen)
            fail(c, "server closed the connection with %d replies outstanding",
                 c->qlen - c->qhead);
        fail(c, "server closed the connection");
    }
    c->rend += (size_t)n;
    c->last_rx_ns = t;
    if (c->qhead == c->qlen) fail(c, "unexpected bytes from server: '%s'",
                                  excerpt(c->rbuf + c->rstart, c->rend - c->rstart));
    if (!process_input(c)) return;
    if (c->rstart != c->rend)
        fail(c, "unexpected bytes after the last reply: '%s'",
             excerpt(c->rbuf + c->rstart, c->rend - c->rstart));
    /* batch complete */
    int64_t done = now_ns();
    if (g_mode == M_PRELOAD || (c->sent_ns >= g_t_measure && done <= g_t_end)) {
        w->batches++;
        w->ops += g_mode == M_MGET ? 1 : (uint64_t)c->qlen;
        w->keys += g_mode == M_MGET ? (uint64_t)g_mget : (uint64_t)c->qlen;
        hist_add(w->hist, done - c->sent_ns);
    }
    c->qhead = c->qlen = 0;
    if (g_mode == M_PRELOAD || !g_stop) issue(w, c, epfd);
}

static void *worker_run(void *arg) {
    worker_t *w = arg;
    int epfd = epoll_create1(0);
    if (epfd < 0) die("epoll_create1: %s", strerror(errno));
    for (int i = 0; i < w->nconns; i++) {
        conn_t *c = &w->conns[i];
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) die("epoll_ctl: %s", strerror(errno));
        c->last_rx_ns = now_ns();
    }
    for (int i = 0; i < w->nconns; i++) issue(w, &w->conns[i], epfd);
    struct epoll_event evs[256];
    int64_t next_stall_check = now_ns() + 100000000LL;
    for (;;) {
        int busy = 0;
        for (int i = 0; i < w->nconns; i++) busy += w->conns[i].qlen > 0;
        if (!busy) break;
        int n = epoll_wait(epfd, evs, 256, 100);
        if (n < 0 && errno != EINTR) die("epoll_wait: %s", strerror(errno));
        int64_t t = now_ns();
        if (g_mode != M_PRELOAD && t >= g_t_end) g_stop = 1;
        for (int i = 0; i < n; i++) {
            conn_t *c = evs[i].data.ptr;
            if (evs[i].events & EPOLLOUT) flush_out(w, c, epfd);
            if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(w, c, epfd, t);
        }
        if (t >= next_stall_check) {
            next_stall_check = t + 100000000LL;
            for (int i = 0; i < w->nconns; i++) {
                conn_t *c = &w->conns[i];
                if (c->qlen && t - c->last_rx_ns > STALL_NS && t - c->sent_ns > STALL_NS)
                    fail(c, "no reply for %lld s (%d replies outstanding)",
                         (long long)(STALL_NS / 1000000000LL), c->qlen - c->qhead);
            }
        }
    }
    close(epfd);
    return NULL;
}

static int connect_one(void) {
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res, *ai;
    int rc = getaddrinfo(g_host, g_port, &hints, &res);
    if (rc) die("getaddrinfo %s:%s: %s", g_host, g_port, gai_strerror(rc));
    int fd = -1;
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0) continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) die("cannot connect to %s:%s: %s", g_host, g_port, strerror(errno));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
        die("fcntl O_NONBLOCK: %s", strerror(errno));
    return fd;
}

static void usage(void) {
    fprintf(stderr,
            "usage: loadgen [-h host] [-p port] -w rr|pipe|mget|preload [-c conns] [-T threads]\n"
            "               [-v value_size] [-k keys] [-d seconds] [-W warmup_seconds]\n"
            "               [-s set_percent] [-P pipeline_depth] [-M mget_keys] [-S server_pid]\n");
    exit(1);
}

int main(int argc, char **argv) {
    int opt;
    while ((opt = getopt(argc, argv, "h:p:w:c:T:v:k:d:W:s:P:M:S:")) != -1) {
        switch (opt) {
        case 'h': g_host = optarg; break;
        case 'p': g_port = optarg; break;
        case 'w':
            if (!strcmp(optarg, "rr")) g_mode = M_RR;
            else if (!strcmp(optarg, "pipe")) g_mode = M_PIPE;
            else if (!strcmp(optarg, "mget")) g_mode = M_MGET;
            else if (!strcmp(optarg, "preload")) g_mode = M_PRELOAD;
            else usage();
            break;
        case 'c': g_conns = atoi(optarg); break;
        case 'T': g_threads = atoi(optarg); break;
        case 'v': g_vsize = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'k': g_nkeys = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'd': g_duration = atof(optarg); break;
        case 'W': g_warmup = atof(optarg); break;
        case 's': g_setpct = atoi(optarg); break;
        case 'P': g_depth = atoi(optarg); break;
        case 'M': g_mget = atoi(optarg); break;
        case 'S': g_server_pid = atoi(optarg); break;
        default: usage();
        }
    }
    if (g_conns < 1 || g_threads < 1 || g_depth < 1 || g_mget < 1 || g_nkeys < 1 ||
        g_vsize > 1000000 || g_setpct < 0 || g_setpct > 100)
        usage();
    if (g_mode == M_MGET && (uint32_t)g_mget > g_nkeys) die("-M must not exceed -k");
    if (g_threads > g_conns) g_threads = g_conns;
    if (g_mode == M_PRELOAD && (uint32_t)g_conns > g_nkeys) g_conns = (int)g_nkeys;

    snprintf(g_prefix, sizeof g_prefix, "v%u:", g_vsize);
    g_prefixlen = strlen(g_prefix);
    g_pattern = malloc(PLEN + g_vsize + 1);
    uint64_t s = 0x9E3779B97F4A7C15ULL;
    for (size_t i = 0; i < PLEN + g_vsize; i++)
        g_pattern[i] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
            [xorshift(&s) & 63];

    int per_batch = g_mode == M_MGET ? 1 : (g_mode == M_RR ? 1 : g_depth);
    size_t scap = (size_t)per_batch * (g_vsize + 128) + (size_t)g_mget * 24 + g_vsize + 256;
    conn_t *conns = calloc((size_t)g_conns, sizeof *conns);
    for (int i = 0; i < g_conns; i++) {
        conn_t *c = &conns[i];
        c->id = i;
        c->fd = connect_one();
        c->rng = 0x2545F4914F6CDD1DULL * (uint64_t)(i + 1) ^ (uint64_t)now_ns();
        if (!c->rng) c->rng = 1;
        c->sbuf = malloc(scap);
        c->rcap = 2 * ((size_t)g_vsize + 256) + 262144;
        c->rbuf = malloc(c->rcap);
        c->q = calloc((size_t)per_batch, sizeof *c->q);
        c->want_out = 0;
        c->preload_next = (uint32_t)((uint64_t)g_nkeys * (uint64_t)i / (uint64_t)g_conns);
        c->preload_end = (uint32_t)((uint64_t)g_nkeys * (uint64_t)(i + 1) / (uint64_t)g_conns);
    }

    worker_t *ws = calloc((size_t)g_threads, sizeof *ws);
    for (int t = 0; t < g_threads; t++) {
        int lo = g_conns * t / g_threads, hi = g_conns * (t + 1) / g_threads;
        ws[t].idx = t;
        ws[t].conns = conns + lo;
        ws[t].nconns = hi - lo;
    }

    g_t_start = now_ns();
    g_t_measure = g_mode == M_PRELOAD ? g_t_start : g_t_start + (int64_t)(g_warmup * 1e9);
    g_t_end = g_mode == M_PRELOAD ? INT64_MAX : g_t_measure + (int64_t)(g_duration * 1e9);
    double scpu0 = -1, scpu1 = -1, ccpu0 = 0, ccpu1 = 0;

    pthread_t *tids = calloc((size_t)g_threads, sizeof *tids);
    for (int t = 0; t < g_threads; t++) pthread_create(&tids[t], NULL, worker_run, &ws[t]);
    int64_t measured_ns;
    if (g_mode == M_PRELOAD) {
        read_server_cpu(&scpu0);
        ccpu0 = client_cpu();
        for (int t = 0; t < g_threads; t++) pthread_join(tids[t], NULL);
        measured_ns = now_ns() - g_t_start;
        read_server_cpu(&scpu1);
        ccpu1 = client_cpu();
    } else {
        struct timespec ts = {.tv_sec = g_t_measure / 1000000000LL,
                              .tv_nsec = g_t_measure % 1000000000LL};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {}
        read_server_cpu(&scpu0);
        ccpu0 = client_cpu();
        ts.tv_sec = g_t_end / 1000000000LL;
        ts.tv_nsec = g_t_end % 1000000000LL;
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {}
        read_server_cpu(&scpu1);
        ccpu1 = client_cpu();
        g_stop = 1;
        for (int t = 0; t < g_threads; t++) pthread_join(tids[t], NULL);
        measured_ns = g_t_end - g_t_measure;
    }

    uint64_t ops = 0, keys = 0, batches = 0;
    static uint64_t hist[HBUCKETS];
    for (int t = 0; t < g_threads; t++) {
        ops += ws[t].ops;
        keys += ws[t].keys;
        batches += ws[t].batches;
        for (size_t i = 0; i < HBUCKETS; i++) hist[i] += ws[t].hist[i];
    }
    for (int i = 0; i < g_conns; i++) close(conns[i].fd);
    double secs = (double)measured_ns / 1e9;
    const char *mname[] = {"rr", "pipe", "mget", "preload"};
    printf("{\"mode\": \"%s\", \"conns\": %d, \"threads\": %d, \"value_size\": %u, \"keys\": %u, "
           "\"seconds\": %.4f, \"ops\": %llu, \"keys_read_or_written\": %llu, "
           "\"batches\": %llu, \"ops_per_s\": %.1f, "
           "\"p50_us\": %.2f, \"p90_us\": %.2f, \"p99_us\": %.2f, \"p999_us\": %.2f, "
           "\"max_us\": %.2f, \"server_cpu_s\": %.4f, \"client_cpu_s\": %.4f}\n",
           mname[g_mode], g_conns, g_threads, g_vsize, g_nkeys, secs, (unsigned long long)ops,
           (unsigned long long)keys, (unsigned long long)batches, (double)ops / secs,
           hist_pct(hist, 50) / 1e3, hist_pct(hist, 90) / 1e3, hist_pct(hist, 99) / 1e3,
           hist_pct(hist, 99.9) / 1e3, hist_max(hist) / 1e3,
           scpu0 < 0 || scpu1 < 0 ? -1.0 : scpu1 - scpu0, ccpu1 - ccpu0);
    return 0;
}
