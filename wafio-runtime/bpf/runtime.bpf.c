// SPDX-License-Identifier: GPL-2.0
// WAFio runtime security monitor: kernel side.
//
// Tracepoint programs (CO-RE) that report process, file, network and
// privilege events to user space through one ring buffer.  The layouts of the
// event structs below are mirrored byte for byte by `src/event.rs`; change
// both together and bump WAFIO_ABI_VERSION.
//
// Build with `bpf/build.sh` (clang -O2 -g -target bpf), never by hand.

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#define WAFIO_ABI_VERSION 1

#define PATH_LEN 256     // paths are truncated to 255 bytes + NUL
#define ARGS_LEN 1024    // argv (NUL separated) is truncated to 1024 bytes
#define MAX_PREFIXES 16  // watched path prefixes
#define PREFIX_LEN 64    // bytes per watched prefix
#define MAX_RULES 256    // enforcement rule ids counted in RULE_HITS

#define AF_INET 2
#define AF_INET6 10
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define SIGKILL 9
#define EPERM 1

#define O_WRONLY 01
#define O_RDWR 02
#define O_CREAT 0100
#define O_TRUNC 01000

enum event_kind {
	EV_EXEC = 1,
	EV_FORK = 2,
	EV_EXIT = 3,
	EV_FILE = 4,
	EV_NET = 5,
	EV_SYSCALL = 6,
	EV_KILLED = 7,
	EV_DENIED_CONNECT = 8,
	EV_KIND_MAX = 9,
};

// Watch flags (values of the WATCH trie).
#define PREFIX_WRITE 1 // report write/create/unlink/rename/chmod/chown
#define PREFIX_READ 2  // also report read-only opens

// Config flags.
#define CFG_RELATIVE_PATHS 1 // report write opens of relative paths
#define CFG_READ_WATCH 2     // some watched prefix reports reads
#define CFG_KILL_RULES 4     // KILL_EXEC holds at least one rule

struct config {
	__u32 agent_tgid; // the monitor itself: never reported
	__u32 flags;
};

// WATCH trie key: the first PREFIX_LEN bytes of a path. A watched prefix
// of n bytes is stored with prefixlen n * 8; its value is the OR of the
// flags of every watched prefix that is a prefix of it (user space computes
// that), so the longest match alone answers for all the prefixes a path has.
struct watch_key {
	__u32 prefixlen; // bits
	char path[PREFIX_LEN];
};

struct hdr {
	__u32 kind;
	__u32 pid; // tgid
	__u32 tid;
	__u32 ppid;
	__u32 uid;
	__u32 gid;
	__u32 euid;
	__u32 egid;
	__u64 ts_ns; // CLOCK_MONOTONIC (bpf_ktime_get_ns)
	__u64 cgroup_id;
	__u32 pid_ns;
	__u32 mnt_ns;
	char comm[16];
}; // 80 bytes

struct exec_event {
	struct hdr h;
	__u64 ino;
	__u32 dev;
	__u32 nlink;
	__u32 stdin_mode;
	__u32 stdout_mode;
	__u32 filename_len;
	__u32 args_len;
	__u32 args_truncated;
	__u32 argc;
	char filename[PATH_LEN];
	char args[ARGS_LEN];
};

struct fork_event {
	struct hdr h;
	__u32 child_pid;
	__u32 _pad;
};

struct exit_event {
	struct hdr h;
	__s32 exit_code; // raw wait status: (code << 8) | signal
	__u32 _pad;
};

struct file_event {
	struct hdr h;
	__u32 syscall_nr;
	__u32 flags;
	__u32 mode;
	__u32 owner;
	__u32 group;
	__s32 dirfd;
	char path[PATH_LEN];
	char path2[PATH_LEN];
};

struct net_event {
	struct hdr h;
	__u32 syscall_nr;
	__s32 fd;
	__s64 ret; // accept: the new fd; 0 for entry events
	__u16 family;
	__u16 port; // host order
	__u32 backlog;
	__u8 addr[16];
	__u32 rule_id; // EV_DENIED_CONNECT only
	__u32 _pad;
};

struct syscall_event {
	struct hdr h;
	__u32 syscall_nr;
	__u32 str_len;
	__u64 args[6];
	char str[PATH_LEN];
};

struct killed_event {
	struct hdr h;
	__u32 rule_id;
	__u32 syscall_nr;
	char filename[PATH_LEN];
};

struct kill_key {
	char comm[16];       // all zero = any process
	char path[PATH_LEN]; // all zero = any binary
};

struct deny4_key {
	__u32 prefixlen; // 16 (port) + address prefix
	__u8 port[2];    // network order; 0 = any port (separate entry)
	__u8 addr[4];
	__u8 _pad[2];    // after the address: never part of a prefix
};

struct deny6_key {
	__u32 prefixlen;
	__u8 port[2];
	__u8 addr[16];
	__u8 _pad[2];
};

// Per-CPU scratch. `prefixlen` directly followed by `path` makes
// &prefixlen a WATCH key over the path just read (no copy).
struct scratch {
	__u32 prefixlen;
	char path[PATH_LEN];
	struct kill_key key;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} EVENTS SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, EV_KIND_MAX);
	__type(key, __u32);
	__type(value, __u64);
} LOST SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct config);
} CONFIG SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, MAX_PREFIXES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct watch_key);
	__type(value, __u32);
} WATCH SEC(".maps");

// The first 8 bytes of every WATCH prefix (all of it when shorter, `mask`
// covering its bytes) with its flags, compared with the first 8 bytes of a
// path before the whole path is read: reading a user string is the costliest
// step of an unwatched open (about 170 ns here, an 8-byte read about 110 ns,
// the trie lookup about 60 ns). A path no head matches has no watched prefix.
struct heads {
	__u64 bytes[MAX_PREFIXES];
	__u64 mask[MAX_PREFIXES];
	__u32 flags[MAX_PREFIXES];
	__u32 count;
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct heads);
} HEADS SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct kill_key);
	__type(value, __u32);
} KILL_EXEC SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1024);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct deny4_key);
	__type(value, __u32);
} DENY4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1024);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct deny6_key);
	__type(value, __u32);
} DENY6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MAX_RULES);
	__type(key, __u32);
	__type(value, __u64);
} RULE_HITS SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} SCRATCH SEC(".maps");

char LICENSE[] SEC("license") = "GPL";

static __always_inline void count_lost(__u32 kind)
{
	__u64 *v = bpf_map_lookup_elem(&LOST, &kind);
	if (v)
		*v += 1;
}

static __always_inline void count_rule(__u32 rule)
{
	__u32 idx = rule % MAX_RULES;
	__u64 *v = bpf_map_lookup_elem(&RULE_HITS, &idx);
	if (v)
		*v += 1;
}

static __always_inline struct config *get_config(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&CONFIG, &zero);
}

static __always_inline int is_agent(void)
{
	struct config *c = get_config();
	if (!c)
		return 0;
	return c->agent_tgid == (bpf_get_current_pid_tgid() >> 32);
}

static __always_inline void *reserve(__u64 size, __u32 kind)
{
	void *e = bpf_ringbuf_reserve(&EVENTS, size, 0);
	if (!e)
		count_lost(kind);
	return e;
}

// Submit, waking the reader only when the unread data crosses a multiple of
// an eighth of the ring: at most about eight wakeups per ring's worth of
// events, however long the reader sleeps. (Waking on every event while the
// ring is over a threshold made each event of a burst pay for an irq_work
// self-IPI, a VM exit on virtual machines: the largest single cost of a
// watched open.) A reader that is awake never waits for a wakeup: it polls
// only once it has drained the ring, and poll returns at once on unread
// data. Concurrent producers can miss a crossing; the next one wakes, and
// the reader's poll timeout (<= 200 ms) bounds the latency of a quiet ring.
static __always_inline void submit(void *e, __u64 len)
{
	__u64 avail = bpf_ringbuf_query(&EVENTS, BPF_RB_AVAIL_DATA);
	__u64 step = bpf_ringbuf_query(&EVENTS, BPF_RB_RING_SIZE) / 8;
	len = (len + 8 + 7) & ~7ULL; // record header (8 bytes) and padding
	int wake = step == 0 || avail < len || avail / step != (avail - len) / step;
	bpf_ringbuf_submit(e, wake ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
}

static __always_inline void fill_hdr_task(struct hdr *h, __u32 kind, struct task_struct *t)
{
	h->kind = kind;
	h->pid = BPF_CORE_READ(t, tgid);
	h->tid = BPF_CORE_READ(t, pid);
	h->ppid = BPF_CORE_READ(t, real_parent, tgid);
	const struct cred *cred = BPF_CORE_READ(t, cred);
	h->uid = BPF_CORE_READ(cred, uid.val);
	h->gid = BPF_CORE_READ(cred, gid.val);
	h->euid = BPF_CORE_READ(cred, euid.val);
	h->egid = BPF_CORE_READ(cred, egid.val);
	h->ts_ns = bpf_ktime_get_ns();
	h->cgroup_id = BPF_CORE_READ(t, cgroups, dfl_cgrp, kn, id);
	struct pid *p = BPF_CORE_READ(t, thread_pid);
	unsigned int lvl = BPF_CORE_READ(p, level);
	struct upid up = {};
	bpf_probe_read_kernel(&up, sizeof(up), &p->numbers[lvl & 31]);
	h->pid_ns = BPF_CORE_READ(up.ns, ns.inum);
	h->mnt_ns = BPF_CORE_READ(t, nsproxy, mnt_ns, ns.inum);
	bpf_probe_read_kernel_str(h->comm, sizeof(h->comm), &t->comm);
}

static __always_inline void fill_hdr(struct hdr *h, __u32 kind)
{
	fill_hdr_task(h, kind, (struct task_struct *)bpf_get_current_task());
}

// The same header for the current task through its BTF pointer: direct
// (fault-safe) loads instead of one bpf_probe_read_kernel per field. Not for
// cgroup programs, which have no bpf_get_current_task_btf.
static __always_inline void fill_hdr_cur(struct hdr *h, __u32 kind)
{
	struct task_struct *t = bpf_get_current_task_btf();
	h->kind = kind;
	h->pid = t->tgid;
	h->tid = t->pid;
	h->ppid = t->real_parent->tgid;
	const struct cred *cred = t->cred;
	h->uid = cred->uid.val;
	h->gid = cred->gid.val;
	h->euid = cred->euid.val;
	h->egid = cred->egid.val;
	h->ts_ns = bpf_ktime_get_ns();
	h->cgroup_id = t->cgroups->dfl_cgrp->kn->id;
	struct pid *p = t->thread_pid;
	unsigned int lvl = p->level;
	struct upid up = {};
	// numbers[] is indexed by a runtime value: not a constant-offset load.
	bpf_probe_read_kernel(&up, sizeof(up), &p->numbers[lvl & 31]);
	h->pid_ns = BPF_CORE_READ(up.ns, ns.inum);
	h->mnt_ns = t->nsproxy->mnt_ns->ns.inum;
	bpf_get_current_comm(h->comm, sizeof(h->comm));
}

// The struct file behind descriptor `fd` of the current task, or NULL.
static __always_inline struct file *fd_file(int fd)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(t, files, fdt);
	unsigned int max = BPF_CORE_READ(fdt, max_fds);
	if (fd < 0 || (unsigned int)fd >= max)
		return NULL;
	struct file **arr = BPF_CORE_READ(fdt, fd);
	struct file *f = NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &arr[fd]);
	return f;
}

static __always_inline __u32 fd_mode(int fd)
{
	struct file *f = fd_file(fd);
	if (!f)
		return 0;
	return BPF_CORE_READ(f, f_inode, i_mode);
}

// ---------------------------------------------------------------------------
// Process lifecycle (raw tracepoints: typed task_struct arguments)

// Raw tracepoint arguments. Read through a plain u64 array: vmlinux.h marks
// `bpf_raw_tracepoint_args` preserve_access_index and its flexible `args[0]`
// would become a CO-RE relocation aya 0.14 rejects as out of bounds.
static __always_inline __u64 raw_arg(struct bpf_raw_tracepoint_args *ctx, int i)
{
	return ((volatile __u64 *)ctx)[i];
}

SEC("raw_tp/sched_process_exec")
int wafio_exec(struct bpf_raw_tracepoint_args *ctx)
{
	if (is_agent())
		return 0;
	struct task_struct *t = (struct task_struct *)raw_arg(ctx, 0);
	struct linux_binprm *bprm = (struct linux_binprm *)raw_arg(ctx, 2);
	struct exec_event *e = reserve(sizeof(*e), EV_EXEC);
	if (!e)
		return 0;
	fill_hdr_task(&e->h, EV_EXEC, t);
	struct file *f = BPF_CORE_READ(bprm, file);
	struct inode *ino = BPF_CORE_READ(f, f_inode);
	e->ino = BPF_CORE_READ(ino, i_ino);
	e->dev = BPF_CORE_READ(ino, i_sb, s_dev);
	e->nlink = BPF_CORE_READ(ino, __i_nlink);
	e->stdin_mode = fd_mode(0);
	e->stdout_mode = fd_mode(1);
	e->argc = BPF_CORE_READ(bprm, argc);
	const char *fname = BPF_CORE_READ(bprm, filename);
	long n = bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), fname);
	e->filename_len = n > 0 ? n - 1 : 0;
	unsigned long start = BPF_CORE_READ(t, mm, arg_start);
	unsigned long end = BPF_CORE_READ(t, mm, arg_end);
	unsigned long len = end > start ? end - start : 0;
	e->args_truncated = 0;
	if (len > ARGS_LEN) {
		len = ARGS_LEN;
		e->args_truncated = 1;
	}
	if (bpf_probe_read_user(e->args, len, (void *)start) < 0)
		len = 0;
	e->args_len = len;
	submit(e, sizeof(*e));
	return 0;
}

SEC("raw_tp/sched_process_fork")
int wafio_fork(struct bpf_raw_tracepoint_args *ctx)
{
	if (is_agent())
		return 0;
	struct task_struct *parent = (struct task_struct *)raw_arg(ctx, 0);
	struct task_struct *child = (struct task_struct *)raw_arg(ctx, 1);
	// Threads share the parent's tgid: report new processes only.
	if (BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid))
		return 0;
	struct fork_event *e = reserve(sizeof(*e), EV_FORK);
	if (!e)
		return 0;
	fill_hdr_task(&e->h, EV_FORK, parent);
	e->child_pid = BPF_CORE_READ(child, tgid);
	e->_pad = 0;
	submit(e, sizeof(*e));
	return 0;
}

SEC("raw_tp/sched_process_exit")
int wafio_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *t = (struct task_struct *)raw_arg(ctx, 0);
	// Only the thread group leader's exit ends the process.
	if (BPF_CORE_READ(t, pid) != BPF_CORE_READ(t, tgid))
		return 0;
	if (is_agent())
		return 0;
	struct exit_event *e = reserve(sizeof(*e), EV_EXIT);
	if (!e)
		return 0;
	fill_hdr_task(&e->h, EV_EXIT, t);
	int code = BPF_CORE_READ(t, exit_code);
	int group = BPF_CORE_READ(t, signal, group_exit_code);
	e->exit_code = group ? group : code;
	e->_pad = 0;
	submit(e, sizeof(*e));
	return 0;
}

// ---------------------------------------------------------------------------
// Syscall tracepoint arguments, copied to the stack with constant offsets
// (the verifier refuses variable-offset reads of the context). Two spare
// zero slots keep `A[i & 7]` inside the array.
#define LOAD_ARGS(ctx)                                                           \
	__u64 A[8] = { ctx->args[0], ctx->args[1], ctx->args[2],                 \
		       ctx->args[3], ctx->args[4], ctx->args[5], 0, 0 };         \
	long ID = ctx->id

// ---------------------------------------------------------------------------
// Kill on exec (bpf_send_signal at syscall entry, before the new image runs)

static __always_inline int kill_lookup(struct scratch *s, __u32 *rule)
{
	__u32 *r = bpf_map_lookup_elem(&KILL_EXEC, &s->key);
	if (r) {
		*rule = *r;
		return 1;
	}
	return 0;
}

static __always_inline int exec_enter(const __u64 *A, long ID, int path_arg)
{
	// Nothing to enforce: no path read, no hash lookups on every exec.
	struct config *c = get_config();
	if (!c || !(c->flags & CFG_KILL_RULES))
		return 0;
	if (c->agent_tgid == (bpf_get_current_pid_tgid() >> 32))
		return 0;
	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&SCRATCH, &zero);
	if (!s)
		return 0;
	const char *upath = (const char *)A[path_arg & 1];
	__builtin_memset(&s->key, 0, sizeof(s->key));
	bpf_get_current_comm(s->key.comm, sizeof(s->key.comm));
	bpf_probe_read_user_str(s->key.path, sizeof(s->key.path), upath);
	__u32 rule = 0;
	int hit = kill_lookup(s, &rule); // comm + path
	if (!hit) {
		__builtin_memset(s->key.comm, 0, sizeof(s->key.comm));
		hit = kill_lookup(s, &rule); // any comm + path
		if (!hit) {
			bpf_get_current_comm(s->key.comm, sizeof(s->key.comm));
			__builtin_memset(s->key.path, 0, sizeof(s->key.path));
			hit = kill_lookup(s, &rule); // comm + any path
		}
	}
	if (!hit)
		return 0;
	bpf_send_signal(SIGKILL);
	count_rule(rule);
	struct killed_event *e = reserve(sizeof(*e), EV_KILLED);
	if (!e)
		return 0;
	fill_hdr_cur(&e->h, EV_KILLED);
	e->rule_id = rule;
	e->syscall_nr = ID;
	bpf_probe_read_user_str(e->filename, sizeof(e->filename), upath);
	submit(e, sizeof(*e));
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_execve")
int wafio_enter_execve(struct trace_event_raw_sys_enter *ctx)
{
	LOAD_ARGS(ctx);
	return exec_enter(A, ID, 0);
}

SEC("tracepoint/syscalls/sys_enter_execveat")
int wafio_enter_execveat(struct trace_event_raw_sys_enter *ctx)
{
	LOAD_ARGS(ctx);
	return exec_enter(A, ID, 1);
}

// ---------------------------------------------------------------------------
// Files and privilege syscalls: one program, attached to the
// syscalls/sys_enter_<name> tracepoint of each covered syscall and driven by
// the SYSCALLS descriptor table (filled from the Rust coverage table).
//
// Per-syscall tracepoints rather than one raw_tp/tp_btf on sys_enter: a
// program on the raw sys_enter tracepoint runs on every syscall of the
// system and is one more probe (an indirect call) on every syscall, next to
// the perf probe that the per-syscall tracepoints (exec, network) already
// register. Per-syscall tracepoints all share that one perf probe, which
// filters by syscall number with a bitmap test: a syscall the monitor does
// not cover (read, write, close, ...) never enters a BPF program.
//
// The open path is ordered cheapest first: flags come from the arguments, a
// read-only open is dropped at once unless some watched prefix reports
// reads, the path is read once into per-CPU scratch and matched with one
// LPM-trie lookup (WATCH), and only a match pays for an event.

#define SC_FILE 1
#define SC_GENERIC 2
#define OPEN_NONE 0
#define OPEN_FLAGS 1   // flags argument holds open(2) flags
#define OPEN_HOW 2     // flags argument points to struct open_how
#define OPEN_CREAT 3   // creat(2)
#define MAX_SYSCALL 512

// What to report for one syscall number. Argument indexes are 0..5; -1 = none.
struct sc_desc {
	__u8 kind;
	__s8 path;
	__s8 path2;
	__s8 dirfd;
	__s8 flags;
	__s8 mode;
	__s8 owner;
	__s8 group;
	__u8 open_kind;
	__s8 str;
	__u8 _pad[6];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_SYSCALL);
	__type(key, __u32);
	__type(value, struct sc_desc);
} SYSCALLS SEC(".maps");

static __always_inline __u64 arg_or(const __u64 *A, __s8 i, __u64 dflt)
{
	return i >= 0 ? A[i & 7] : dflt;
}

static __always_inline int is_write_open(__u32 flags)
{
	return (flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC)) != 0;
}

// Whether some watched prefix with a flag of `want` may start a path whose
// first 8 bytes are `head` (see struct heads).
static __always_inline int head_watched(__u64 head, __u32 want)
{
	__u32 zero = 0;
	struct heads *h = bpf_map_lookup_elem(&HEADS, &zero);
	if (!h)
		return 1;
	for (int i = 0; i < MAX_PREFIXES; i++) {
		if (i >= h->count)
			break;
		if ((h->flags[i] & want) && (head & h->mask[i]) == h->bytes[i])
			return 1;
	}
	return 0;
}

static __always_inline int file_event(const __u64 *A, long ID, struct sc_desc *d,
				      struct config *c)
{
	if (d->path < 0)
		return 0;
	__u32 flags = arg_or(A, d->flags, 0);
	__u32 mode = arg_or(A, d->mode, 0);
	if (d->open_kind == OPEN_HOW) {
		struct open_how how = {};
		bpf_probe_read_user(&how, sizeof(how), (void *)A[d->flags & 7]);
		flags = how.flags;
		mode = how.mode;
	} else if (d->open_kind == OPEN_CREAT) {
		flags = O_CREAT | O_WRONLY | O_TRUNC;
	}
	int is_read = d->open_kind != OPEN_NONE && !is_write_open(flags);
	// Read-only opens are the commonest syscall of all: without a read
	// watch they are dropped before the path is touched.
	if (is_read && !(c->flags & CFG_READ_WATCH))
		return 0;
	__u32 want = is_read ? PREFIX_READ : PREFIX_WRITE;
	const char *upath = (const char *)A[d->path & 7];
	// The first 8 bytes decide most paths. The read fails only for a path
	// ending within 8 bytes of an unmapped page: then the whole path is read.
	__u64 head = 0;
	if (bpf_probe_read_user(&head, sizeof(head), upath) == 0) {
		if ((head & 0xff) == '/') {
			if (!head_watched(head, want))
				return 0;
		} else if (is_read || !(c->flags & CFG_RELATIVE_PATHS)) {
			return 0;
		}
	}
	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&SCRATCH, &zero);
	if (!s)
		return 0;
	long n = bpf_probe_read_user_str(s->path, sizeof(s->path), upath);
	if (n <= 0)
		return 0;
	if (s->path[0] == '/') {
		// Key: the path's bytes before its NUL, at most PREFIX_LEN. Bytes
		// after the NUL are stale but lie beyond prefixlen.
		__u32 len = n - 1;
		if (len > PREFIX_LEN)
			len = PREFIX_LEN;
		s->prefixlen = len * 8;
		__u32 *w = bpf_map_lookup_elem(&WATCH, &s->prefixlen);
		if (!w || !(*w & want))
			return 0;
	} else {
		if (is_read || !(c->flags & CFG_RELATIVE_PATHS))
			return 0;
	}
	struct file_event *e = reserve(sizeof(*e), EV_FILE);
	if (!e)
		return 0;
	fill_hdr_cur(&e->h, EV_FILE);
	e->syscall_nr = ID;
	e->flags = flags;
	e->mode = mode;
	e->owner = arg_or(A, d->owner, 0);
	e->group = arg_or(A, d->group, 0);
	e->dirfd = d->dirfd >= 0 ? (int)A[d->dirfd & 7] : -100;
	bpf_probe_read_kernel(e->path, sizeof(e->path), s->path);
	e->path2[0] = 0;
	if (d->path2 >= 0)
		bpf_probe_read_user_str(e->path2, sizeof(e->path2), (const char *)A[d->path2 & 7]);
	submit(e, sizeof(*e));
	return 0;
}

static __always_inline int generic(const __u64 *A, long ID, struct sc_desc *d)
{
	struct syscall_event *e = reserve(sizeof(*e), EV_SYSCALL);
	if (!e)
		return 0;
	fill_hdr_cur(&e->h, EV_SYSCALL);
	e->syscall_nr = ID;
	e->args[0] = A[0];
	e->args[1] = A[1];
	e->args[2] = A[2];
	e->args[3] = A[3];
	e->args[4] = A[4];
	e->args[5] = A[5];
	e->str[0] = 0;
	e->str_len = 0;
	if (d->str >= 0) {
		long n = bpf_probe_read_user_str(e->str, sizeof(e->str), (const char *)A[d->str & 7]);
		e->str_len = n > 0 ? n - 1 : 0;
	}
	submit(e, sizeof(*e));
	return 0;
}

static __always_inline int dispatch(const __u64 *A, long id)
{
	if ((unsigned long)id >= MAX_SYSCALL)
		return 0;
	__u32 nr = id;
	struct sc_desc *d = bpf_map_lookup_elem(&SYSCALLS, &nr);
	if (!d || !d->kind)
		return 0;
	struct config *c = get_config();
	if (!c || c->agent_tgid == (bpf_get_current_pid_tgid() >> 32))
		return 0;
	if (d->kind == SC_FILE)
		return file_event(A, nr, d, c);
	return generic(A, nr, d);
}

// The kernel refuses (EACCES) to attach a program that may read past the
// end of the tracepoint's record, whose size depends on the syscall's
// argument count: one program per count, reading exactly that many
// arguments (the others stay 0). User space picks the program from the
// tracepoint's format.
#define DISPATCHER(N)                                                            \
	SEC("tracepoint/syscalls/sys_enter_dispatch" #N)                         \
	int wafio_syscall##N(struct trace_event_raw_sys_enter *ctx)              \
	{                                                                        \
		__u64 A[8] = {};                                                 \
		A[0] = ctx->args[0];                                             \
		if (N > 1)                                                       \
			A[1] = ctx->args[1];                                     \
		if (N > 2)                                                       \
			A[2] = ctx->args[2];                                     \
		if (N > 3)                                                       \
			A[3] = ctx->args[3];                                     \
		if (N > 4)                                                       \
			A[4] = ctx->args[4];                                     \
		if (N > 5)                                                       \
			A[5] = ctx->args[5];                                     \
		return dispatch(A, ctx->id);                                     \
	}

DISPATCHER(1)
DISPATCHER(2)
DISPATCHER(3)
DISPATCHER(4)
DISPATCHER(5)
DISPATCHER(6)

// ---------------------------------------------------------------------------
// Network

static __always_inline void read_sockaddr(struct net_event *e, const void *uaddr)
{
	__u16 family = 0;
	bpf_probe_read_user(&family, sizeof(family), uaddr);
	e->family = family;
	if (family == AF_INET) {
		struct sockaddr_in sa = {};
		bpf_probe_read_user(&sa, sizeof(sa), uaddr);
		e->port = __builtin_bswap16(sa.sin_port);
		__builtin_memcpy(e->addr, &sa.sin_addr.s_addr, 4);
	} else if (family == AF_INET6) {
		struct sockaddr_in6 sa = {};
		bpf_probe_read_user(&sa, sizeof(sa), uaddr);
		e->port = __builtin_bswap16(sa.sin6_port);
		bpf_probe_read_kernel(e->addr, 16, &sa.sin6_addr);
	}
}

static __always_inline int net_addr_event(const __u64 *A, long ID, int with_backlog)
{
	if (is_agent())
		return 0;
	const void *uaddr = (const void *)A[1];
	__u16 family = 0;
	if (!with_backlog) {
		bpf_probe_read_user(&family, sizeof(family), uaddr);
		// Unix sockets are too chatty to report; only IP endpoints.
		if (family != AF_INET && family != AF_INET6)
			return 0;
	}
	struct net_event *e = reserve(sizeof(*e), EV_NET);
	if (!e)
		return 0;
	fill_hdr_cur(&e->h, EV_NET);
	e->syscall_nr = ID;
	e->fd = A[0];
	e->ret = 0;
	e->family = 0;
	e->port = 0;
	e->backlog = 0;
	__builtin_memset(e->addr, 0, sizeof(e->addr));
	e->rule_id = 0;
	e->_pad = 0;
	if (with_backlog) {
		// listen(fd, backlog): the local address comes from the socket.
		e->backlog = A[1];
		struct file *f = fd_file(e->fd);
		struct socket *sock = f ? BPF_CORE_READ(f, private_data) : NULL;
		struct sock *sk = sock ? BPF_CORE_READ(sock, sk) : NULL;
		if (sk && (fd_mode(e->fd) & S_IFMT) == S_IFSOCK) {
			e->family = BPF_CORE_READ(sk, __sk_common.skc_family);
			e->port = BPF_CORE_READ(sk, __sk_common.skc_num);
			if (e->family == AF_INET) {
				__u32 a = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
				__builtin_memcpy(e->addr, &a, 4);
			} else if (e->family == AF_INET6) {
				BPF_CORE_READ_INTO(&e->addr, sk, __sk_common.skc_v6_rcv_saddr);
			}
		}
	} else {
		read_sockaddr(e, uaddr);
	}
	if (e->family != AF_INET && e->family != AF_INET6) {
		bpf_ringbuf_discard(e, 0);
		return 0;
	}
	submit(e, sizeof(*e));
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_connect")
int wafio_connect(struct trace_event_raw_sys_enter *ctx)
{
	LOAD_ARGS(ctx);
	return net_addr_event(A, ID, 0);
}

SEC("tracepoint/syscalls/sys_enter_bind")
int wafio_bind(struct trace_event_raw_sys_enter *ctx)
{
	LOAD_ARGS(ctx);
	return net_addr_event(A, ID, 0);
}

SEC("tracepoint/syscalls/sys_enter_listen")
int wafio_listen(struct trace_event_raw_sys_enter *ctx)
{
	LOAD_ARGS(ctx);
	return net_addr_event(A, ID, 1);
}

static __always_inline int accept_exit(struct trace_event_raw_sys_exit *ctx, __u32 nr)
{
	if (ctx->ret < 0 || is_agent())
		return 0;
	struct file *f = fd_file(ctx->ret);
	if (!f || (BPF_CORE_READ(f, f_inode, i_mode) & S_IFMT) != S_IFSOCK)
		return 0;
	struct socket *sock = BPF_CORE_READ(f, private_data);
	struct sock *sk = BPF_CORE_READ(sock, sk);
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != AF_INET && family != AF_INET6)
		return 0;
	struct net_event *e = reserve(sizeof(*e), EV_NET);
	if (!e)
		return 0;
	fill_hdr_cur(&e->h, EV_NET);
	e->syscall_nr = nr;
	e->fd = -1;
	e->ret = ctx->ret;
	e->family = family;
	e->port = __builtin_bswap16(BPF_CORE_READ(sk, __sk_common.skc_dport));
	e->backlog = BPF_CORE_READ(sk, __sk_common.skc_num); // local port
	__builtin_memset(e->addr, 0, sizeof(e->addr));
	if (family == AF_INET) {
		__u32 a = BPF_CORE_READ(sk, __sk_common.skc_daddr);
		__builtin_memcpy(e->addr, &a, 4);
	} else {
		BPF_CORE_READ_INTO(&e->addr, sk, __sk_common.skc_v6_daddr);
	}
	e->rule_id = 0;
	e->_pad = 0;
	submit(e, sizeof(*e));
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept")
int wafio_accept(struct trace_event_raw_sys_exit *ctx)
{
	return accept_exit(ctx, 43);
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int wafio_accept4(struct trace_event_raw_sys_exit *ctx)
{
	return accept_exit(ctx, 288);
}

// ---------------------------------------------------------------------------
// deny-connect: cgroup hooks, returning 0 makes connect() fail with EPERM

static __always_inline void deny_event(struct bpf_sock_addr *ctx, __u16 family, __u32 rule)
{
	count_rule(rule);
	struct net_event *e = reserve(sizeof(*e), EV_DENIED_CONNECT);
	if (!e)
		return;
	fill_hdr(&e->h, EV_DENIED_CONNECT);
	e->syscall_nr = 42;
	e->fd = -1;
	e->ret = -EPERM;
	e->family = family;
	e->port = __builtin_bswap16((__u16)ctx->user_port);
	e->backlog = 0;
	__builtin_memset(e->addr, 0, sizeof(e->addr));
	if (family == AF_INET) {
		__u32 a = ctx->user_ip4;
		__builtin_memcpy(e->addr, &a, 4);
	} else {
		__u32 a0 = ctx->user_ip6[0], a1 = ctx->user_ip6[1];
		__u32 a2 = ctx->user_ip6[2], a3 = ctx->user_ip6[3];
		__builtin_memcpy(e->addr, &a0, 4);
		__builtin_memcpy(e->addr + 4, &a1, 4);
		__builtin_memcpy(e->addr + 8, &a2, 4);
		__builtin_memcpy(e->addr + 12, &a3, 4);
	}
	e->rule_id = rule;
	e->_pad = 0;
	submit(e, sizeof(*e));
}

SEC("cgroup/connect4")
int wafio_connect4(struct bpf_sock_addr *ctx)
{
	struct deny4_key k = {};
	__u32 ip = ctx->user_ip4;
	__u16 port = (__u16)ctx->user_port;
	k.prefixlen = 48;
	__builtin_memcpy(k.port, &port, 2);
	__builtin_memcpy(k.addr, &ip, 4);
	__u32 *rule = bpf_map_lookup_elem(&DENY4, &k);
	if (!rule) {
		__builtin_memset(k.port, 0, 2);
		rule = bpf_map_lookup_elem(&DENY4, &k);
	}
	if (!rule)
		return 1;
	deny_event(ctx, AF_INET, *rule);
	return 0;
}

SEC("cgroup/connect6")
int wafio_connect6(struct bpf_sock_addr *ctx)
{
	struct deny6_key k = {};
	__u16 port = (__u16)ctx->user_port;
	k.prefixlen = 144;
	__builtin_memcpy(k.port, &port, 2);
	__u32 a0 = ctx->user_ip6[0], a1 = ctx->user_ip6[1];
	__u32 a2 = ctx->user_ip6[2], a3 = ctx->user_ip6[3];
	__builtin_memcpy(k.addr, &a0, 4);
	__builtin_memcpy(k.addr + 4, &a1, 4);
	__builtin_memcpy(k.addr + 8, &a2, 4);
	__builtin_memcpy(k.addr + 12, &a3, 4);
	__u32 *rule = bpf_map_lookup_elem(&DENY6, &k);
	if (!rule) {
		__builtin_memset(k.port, 0, 2);
		rule = bpf_map_lookup_elem(&DENY6, &k);
	}
	if (!rule)
		return 1;
	deny_event(ctx, AF_INET6, *rule);
	return 0;
}

// ---------------------------------------------------------------------------
// Optional BPF-LSM backend: deny exec of binaries in KILL_EXEC (any comm).
// Refused with EPERM on kernels without `lsm=bpf`; user space reports that.

SEC("lsm/bprm_check_security")
int BPF_PROG(wafio_lsm_bprm, struct linux_binprm *bprm, int ret)
{
	if (ret)
		return ret;
	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&SCRATCH, &zero);
	if (!s)
		return 0;
	__builtin_memset(&s->key, 0, sizeof(s->key));
	bpf_probe_read_kernel_str(s->key.path, sizeof(s->key.path), BPF_CORE_READ(bprm, filename));
	__u32 *rule = bpf_map_lookup_elem(&KILL_EXEC, &s->key);
	if (!rule)
		return 0;
	count_rule(*rule);
	return -EPERM;
}
