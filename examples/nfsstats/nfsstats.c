// SPDX-License-Identifier: GPL-2.0
// nfsstats: how long NFS reads, writes and opens take, as a histogram per file and operation
// (`hist_nfs_op_time_us`, Bumblebee's map name; the observed value is `le`, in microseconds).
// It uses kprobes and kretprobes on the NFS client's nfs_file_read, nfs_file_write and
// nfs_file_open, as Bumblebee's example does: the NFS client has no tracepoints at these
// points. It needs a kernel with kprobes and the NFS client loaded.
#include "vmlinux.h"
#include "bpf/bpf_helpers.h"
#include "bpf/bpf_core_read.h"
#include "bpf/bpf_tracing.h"
#include "solo_types.h"

#define NAME_MAX 255

struct event {
	char fname[NAME_MAX]; // file name (last path component)
	char op[2];           // "r" read, "w" write, "o" open
	u64 le;               // the observation: duration in microseconds
};

// An operation in flight, by thread id: when it started and on which file.
struct op_start {
	u64 ts;
	struct file *fp;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, u32);
	__type(value, struct op_start);
} start SEC(".maps");

// `hist_` prefix on a ring buffer: each event is one observation of `le`, labelled by the other fields.
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 24);
	__type(value, struct event);
} hist_nfs_op_time_us SEC(".maps");

static __always_inline int op_enter(struct file *fp)
{
	u32 tid = (u32)bpf_get_current_pid_tgid();
	struct op_start s = {.ts = bpf_ktime_get_ns(), .fp = fp};

	bpf_map_update_elem(&start, &tid, &s, BPF_ANY);
	return 0;
}

static __always_inline int op_exit(char op)
{
	u32 tid = (u32)bpf_get_current_pid_tgid();
	struct op_start *s = bpf_map_lookup_elem(&start, &tid);
	const unsigned char *name;
	struct file *fp;
	struct event *e;

	if (!s)
		return 0; /* missed the entry */
	fp = s->fp;
	e = bpf_ringbuf_reserve(&hist_nfs_op_time_us, sizeof(*e), 0);
	if (e) {
		e->le = (bpf_ktime_get_ns() - s->ts) / 1000;
		e->op[0] = op;
		e->op[1] = 0;
		name = BPF_CORE_READ(fp, f_path.dentry, d_name.name);
		bpf_probe_read_kernel_str(e->fname, sizeof(e->fname), name);
		bpf_ringbuf_submit(e, 0);
	}
	bpf_map_delete_elem(&start, &tid);
	return 0;
}

SEC("kprobe/nfs_file_read")
int BPF_KPROBE(nfs_file_read, struct kiocb *iocb)
{
	return op_enter(BPF_CORE_READ(iocb, ki_filp));
}

SEC("kretprobe/nfs_file_read")
int BPF_KRETPROBE(nfs_file_read_ret)
{
	return op_exit('r');
}

SEC("kprobe/nfs_file_write")
int BPF_KPROBE(nfs_file_write, struct kiocb *iocb)
{
	return op_enter(BPF_CORE_READ(iocb, ki_filp));
}

SEC("kretprobe/nfs_file_write")
int BPF_KRETPROBE(nfs_file_write_ret)
{
	return op_exit('w');
}

SEC("kprobe/nfs_file_open")
int BPF_KPROBE(nfs_file_open, struct inode *inode, struct file *fp)
{
	return op_enter(fp);
}

SEC("kretprobe/nfs_file_open")
int BPF_KRETPROBE(nfs_file_open_ret)
{
	return op_exit('o');
}

char LICENSE[] SEC("license") = "GPL";
