// SPDX-License-Identifier: GPL-2.0
// WAFio L3/L4 firewall: XDP ingress filter and TC egress destination filter.
//
// Decision order on ingress (first match wins):
//   1. malformed / truncated headers          -> XDP_DROP  (STAT_MALFORMED)
//   2. non-IP frames (ARP, LLDP, ...)         -> XDP_PASS  (STAT_NON_IP)
//   3. source in allow list (exact or prefix)  -> XDP_PASS  (STAT_ALLOW + rule)
//   4. source in block list (exact or prefix)  -> XDP_DROP  (STAT_BLOCK + rule)
//   5. port/protocol rules (first fragments
//      and unfragmented packets only)          -> rule action, or XDP_DROP
//                                                 (STAT_PORT_CLOSED) when the
//                                                 protocol is restricted and
//                                                 no rule opens the port
//   6. per-source token buckets (pkts, bytes)  -> XDP_DROP  (STAT_RATE_*)
//   7. otherwise                               -> XDP_PASS  (STAT_PASS)
//
// Every map key carries a generation number (0 or 1). User space fills the
// inactive generation, then flips `active_gen`: a whole rule set is replaced
// with one 4-byte write, and the program never sees a half-written set.
// IPv4 addresses are IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) everywhere,
// so one LPM trie per list serves both families. Exact hosts are split by
// address: IPv4 (and IPv4-mapped IPv6) hosts live in `*_exact4` with an
// 8-byte key (cheaper to hash and compare than the 20-byte key of the
// IPv6 `*_exact` maps); which map an address belongs in depends only on
// its 16-byte mapped form, so verdicts are those of a single map.
//
// Built with uapi headers only (no vmlinux.h): XDP and TC programs read
// packet bytes, never kernel structs, so there is nothing to relocate.

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define MAX_RULES 4096      /* rule ids per generation */
#define MAX_VLAN 2          /* 802.1Q / 802.1ad tags accepted */
#define MAX_V6_EXT 6        /* IPv6 extension headers walked */

#define ETH_P_8021Q_ 0x8100
#define ETH_P_8021AD_ 0x88A8
#define ETH_P_IP_ 0x0800
#define ETH_P_IPV6_ 0x86DD

/* Global counters (index into `stats`). Keep in sync with src/maps.rs. */
enum stat {
	STAT_PASS = 0,
	STAT_NON_IP = 1,
	STAT_MALFORMED = 2,
	STAT_ALLOW = 3,
	STAT_BLOCK = 4,
	STAT_PORT_ALLOW = 5,
	STAT_PORT_DROP = 6,
	STAT_PORT_CLOSED = 7,
	STAT_RATE_PPS = 8,
	STAT_RATE_BPS = 9,
	STAT_FRAGMENT = 10,
	STAT_EXPIRED = 11,
	STAT_EGRESS_PASS = 12,
	STAT_EGRESS_BLOCK = 13,
	STAT_EGRESS_UNPARSED = 14,
	STAT_EVENT_LOST = 15,
	STAT_MAX = 16,
};

/* Protocol classes for the `restrict_mask` setting and port keys. */
#define PROTO_TCP 6
#define PROTO_UDP 17
#define PROTO_ICMP 1
#define PROTO_ICMPV6 58
#define RESTRICT_TCP (1u << 0)
#define RESTRICT_UDP (1u << 1)
#define RESTRICT_ICMP (1u << 2)
#define RESTRICT_OTHER (1u << 3)

/* `settings.nonempty` bits. Keep in sync with src/maps.rs. */
#define LIST_ALLOW_EXACT (1u << 0)
#define LIST_ALLOW_LPM (1u << 1)
#define LIST_BLOCK_EXACT (1u << 2)
#define LIST_BLOCK_LPM (1u << 3)
#define LIST_EGRESS_EXACT (1u << 4)
#define LIST_EGRESS_LPM (1u << 5)
#define LIST_PORTS (1u << 6)
#define LIST_EGRESS_PORTS (1u << 7)
#define LIST_ALLOW_EXACT4 (1u << 8)
#define LIST_BLOCK_EXACT4 (1u << 9)
#define LIST_EGRESS_EXACT4 (1u << 10)

#define ACTION_ALLOW 1
#define ACTION_DROP 2

struct addr_key {
	__u32 gen;
	__u8 addr[16];
};

struct addr4_key {
	__u32 gen;
	__u8 addr[4]; /* network order */
};

struct lpm_key {
	__u32 prefixlen; /* 32 (generation) + address bits */
	__u32 gen;
	__u8 addr[16];
};

struct addr_val {
	__u32 rule_id;
	__u32 flags;
	__u64 expires_ns; /* CLOCK_MONOTONIC; 0 = never */
};

struct port_key {
	__u32 gen;
	__u8 proto;
	__u8 pad;
	__u16 port; /* host order; 0 = every port of `proto` */
};

struct port_val {
	__u32 rule_id;
	__u32 action;
	__u32 src_group; /* 0 = any source */
	__u32 pad;
};

struct group_key {
	__u32 prefixlen; /* 64 (generation + group) + address bits */
	__u32 gen;
	__u32 group;
	__u8 addr[16];
};

struct settings {
	__u32 restrict_mask;
	__u32 sample_every; /* 1 in N drops is reported; 0 = none */
	__u64 pkt_cost_ns;  /* 0 = no packet rate limit */
	__u64 pkt_burst_ns;
	__u64 byte_cost_ps; /* 0 = no byte rate limit */
	__u64 byte_burst_ns;
	__u32 rate_rule_id;
	__u32 closed_rule_id;
	__u32 nonempty; /* LIST_* bits: lookups in empty maps are skipped */
	__u32 user_state; /* user-space bookkeeping; unused here */
};

struct rl_val {
	__u64 tat_pkt;
	__u64 tat_byte;
};

struct counter {
	__u64 packets;
	__u64 bytes;
};

struct drop_event {
	__u64 ts_ns;
	__u32 rule_id;
	__u32 reason;
	__u8 addr[16];
	__u16 sport;
	__u16 dport;
	__u8 proto;
	__u8 egress;
	__u16 pad;
	__u32 len;
};

struct rule_meta {
	char name[56];
	__u32 kind;
	__u32 used;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} active_gen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct settings);
} settings SEC(".maps");

#define ADDR_HASH(name)                                         \
	struct {                                                \
		__uint(type, BPF_MAP_TYPE_HASH);                \
		__uint(max_entries, 262144);                    \
		__uint(map_flags, BPF_F_NO_PREALLOC);           \
		__type(key, struct addr_key);                   \
		__type(value, struct addr_val);                 \
	} name SEC(".maps")

#define ADDR4_HASH(name)                                        \
	struct {                                                \
		__uint(type, BPF_MAP_TYPE_HASH);                \
		__uint(max_entries, 262144);                    \
		__uint(map_flags, BPF_F_NO_PREALLOC);           \
		__type(key, struct addr4_key);                  \
		__type(value, struct addr_val);                 \
	} name SEC(".maps")

#define ADDR_LPM(name)                                          \
	struct {                                                \
		__uint(type, BPF_MAP_TYPE_LPM_TRIE);            \
		__uint(max_entries, 262144);                    \
		__uint(map_flags, BPF_F_NO_PREALLOC);           \
		__type(key, struct lpm_key);                    \
		__type(value, struct addr_val);                 \
	} name SEC(".maps")

ADDR_HASH(allow_exact);
ADDR4_HASH(allow_exact4);
ADDR_LPM(allow_lpm);
ADDR_HASH(block_exact);
ADDR4_HASH(block_exact4);
ADDR_LPM(block_lpm);
ADDR_HASH(egress_exact);
ADDR4_HASH(egress_exact4);
ADDR_LPM(egress_lpm);

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct port_key);
	__type(value, struct port_val);
} port_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct port_key);
	__type(value, struct port_val);
} egress_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct group_key);
	__type(value, __u32);
} src_groups SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct addr_key);
	__type(value, struct rl_val);
} rate_state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STAT_MAX);
	__type(key, __u32);
	__type(value, struct counter);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2 * MAX_RULES);
	__type(key, __u32);
	__type(value, struct counter);
} rule_stats SEC(".maps");

/* Names of the rules of each generation; written and read by user space only. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * MAX_RULES);
	__type(key, __u32);
	__type(value, struct rule_meta);
} rule_meta SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* Parsed packet. */
struct pkt {
	__u8 src[16];
	__u8 dst[16];
	__u16 sport;
	__u16 dport;
	__u8 proto;
	__u8 nonfirst_frag;
	__u8 v4;	/* the matched address (src or dst) is IPv4-mapped */
	__u8 pad;
	__u32 len;
};

enum parse_rc { PARSE_OK = 0, PARSE_NON_IP = 1, PARSE_MALFORMED = 2 };

static __always_inline void count(void *map, __u32 idx, __u32 len)
{
	struct counter *c = bpf_map_lookup_elem(map, &idx);
	if (c) {
		c->packets += 1;
		c->bytes += len;
	}
}

static __always_inline void count_rule(__u32 gen, __u32 rule_id, __u32 len)
{
	if (rule_id < MAX_RULES)
		count(&rule_stats, gen * MAX_RULES + rule_id, len);
}

static __always_inline void v4_mapped(__u8 *out, __u32 addr_be)
{
	__builtin_memset(out, 0, 10);
	out[10] = 0xff;
	out[11] = 0xff;
	__builtin_memcpy(out + 12, &addr_be, 4);
}

static __always_inline int is_v4_mapped(const __u8 *a)
{
	__u32 w[3];

	__builtin_memcpy(w, a, 12);
	return w[0] == 0 && w[1] == 0 && w[2] == bpf_htonl(0x0000ffff);
}

static __always_inline int parse_l4(void *l4, void *data_end, struct pkt *p)
{
	switch (p->proto) {
	case PROTO_TCP: {
		__u8 *h = l4;
		if ((void *)(h + 20) > data_end)
			return PARSE_MALFORMED;
		if ((h[12] >> 4) < 5)
			return PARSE_MALFORMED;
		p->sport = ((__u16)h[0] << 8) | h[1];
		p->dport = ((__u16)h[2] << 8) | h[3];
		return PARSE_OK;
	}
	case PROTO_UDP: {
		__u8 *h = l4;
		if ((void *)(h + 8) > data_end)
			return PARSE_MALFORMED;
		p->sport = ((__u16)h[0] << 8) | h[1];
		p->dport = ((__u16)h[2] << 8) | h[3];
		return PARSE_OK;
	}
	case PROTO_ICMP:
	case PROTO_ICMPV6: {
		__u8 *h = l4;
		if ((void *)(h + 4) > data_end)
			return PARSE_MALFORMED;
		/* The ICMP type stands in for the source port; dport stays 0. */
		p->sport = h[0];
		return PARSE_OK;
	}
	default:
		return PARSE_OK;
	}
}

/* `want_dst`: fill p->dst (egress matches destinations) instead of p->src
 * (ingress matches sources); the other address is left zero. A constant at
 * each call site, so the unused copy is compiled out. */
static __always_inline int parse(void *data, void *data_end, struct pkt *p, int want_dst)
{
	__u8 *cur = data;
	__u16 h_proto;

	p->len = (__u32)((long)data_end - (long)data);
	if ((void *)(cur + 14) > data_end)
		return PARSE_MALFORMED;
	h_proto = ((__u16)cur[12] << 8) | cur[13];
	cur += 14;

#pragma unroll
	for (int i = 0; i < MAX_VLAN; i++) {
		if (h_proto != ETH_P_8021Q_ && h_proto != ETH_P_8021AD_)
			break;
		if ((void *)(cur + 4) > data_end)
			return PARSE_MALFORMED;
		h_proto = ((__u16)cur[2] << 8) | cur[3];
		cur += 4;
	}
	if (h_proto == ETH_P_8021Q_ || h_proto == ETH_P_8021AD_)
		return PARSE_MALFORMED; /* more tags than we walk: never let them hide IP */

	if (h_proto == ETH_P_IP_) {
		struct iphdr *ip = (void *)cur;
		__u32 ihl;
		__u16 frag;

		if ((void *)(ip + 1) > data_end)
			return PARSE_MALFORMED;
		if (ip->version != 4 || ip->ihl < 5)
			return PARSE_MALFORMED;
		ihl = ip->ihl * 4;
		if ((void *)(cur + ihl) > data_end)
			return PARSE_MALFORMED;
		if (want_dst)
			v4_mapped(p->dst, ip->daddr);
		else
			v4_mapped(p->src, ip->saddr);
		p->v4 = 1;
		p->proto = ip->protocol;
		frag = bpf_ntohs(ip->frag_off);
		if (frag & 0x1fff) {
			p->nonfirst_frag = 1;
			return PARSE_OK;
		}
		return parse_l4(cur + ihl, data_end, p);
	}

	if (h_proto == ETH_P_IPV6_) {
		struct ipv6hdr *ip6 = (void *)cur;
		__u8 nexthdr;

		if ((void *)(ip6 + 1) > data_end)
			return PARSE_MALFORMED;
		if (ip6->version != 6)
			return PARSE_MALFORMED;
		if (want_dst)
			__builtin_memcpy(p->dst, &ip6->daddr, 16);
		else
			__builtin_memcpy(p->src, &ip6->saddr, 16);
		p->v4 = is_v4_mapped(want_dst ? p->dst : p->src);
		nexthdr = ip6->nexthdr;
		cur = (void *)(ip6 + 1);

#pragma unroll
		for (int i = 0; i < MAX_V6_EXT; i++) {
			__u8 *ext = cur;
			__u32 elen;

			if (nexthdr != 0 && nexthdr != 43 && nexthdr != 60 && nexthdr != 44 &&
			    nexthdr != 51)
				break;
			if ((void *)(ext + 8) > data_end)
				return PARSE_MALFORMED;
			if (nexthdr == 44) {
				__u16 off = ((__u16)ext[2] << 8) | ext[3];
				nexthdr = ext[0];
				cur += 8;
				if (off & 0xfff8) {
					p->proto = nexthdr;
					p->nonfirst_frag = 1;
					return PARSE_OK;
				}
				continue;
			}
			if (nexthdr == 51)
				elen = ((__u32)ext[1] + 2) * 4;
			else
				elen = ((__u32)ext[1] + 1) * 8;
			nexthdr = ext[0];
			cur += elen;
		}
		if (nexthdr == 0 || nexthdr == 43 || nexthdr == 60 || nexthdr == 44 ||
		    nexthdr == 51)
			return PARSE_MALFORMED; /* extension chain longer than MAX_V6_EXT */
		p->proto = nexthdr;
		return parse_l4(cur, data_end, p);
	}

	return PARSE_NON_IP;
}

/* CLOCK_MONOTONIC, read at most once per packet and only when needed (an
 * entry with a TTL matched, or rate limiting is on): bpf_ktime_get_ns() is
 * the costliest step of the common path otherwise. `*now` is 0 until read. */
static __always_inline __u64 clock_ns(__u64 *now)
{
	if (!*now)
		*now = bpf_ktime_get_ns();
	return *now;
}

static __always_inline int live(struct addr_val *v, __u64 *now)
{
	if (!v)
		return 0;
	if (v->expires_ns && clock_ns(now) >= v->expires_ns)
		return 0;
	return 1;
}

/* Looks an address up in the exact hash of its family (`v4`: `addr` is
 * IPv4-mapped, look in `exact4`) and in the LPM trie, generation `gen`.
 * `nonempty` holds the LIST_* bits of the three maps (`bits`: exact4,
 * exact, lpm); lookups in empty maps are skipped. Returns the matching
 * value, or NULL. Expired entries are ignored (and counted), so a TTL
 * holds even before user space sweeps them away. */
static __always_inline struct addr_val *match_addr(void *exact4, void *exact, void *lpm,
						   __u32 gen, const __u8 *addr, int v4,
						   __u64 *now, __u32 len, __u32 nonempty,
						   __u32 bit_exact4, __u32 bit_exact,
						   __u32 bit_lpm)
{
	struct addr_val *v = NULL;
	struct lpm_key lk = { .prefixlen = 32 + 128, .gen = gen };

	if (v4) {
		if (nonempty & bit_exact4) {
			struct addr4_key k4 = { .gen = gen };
			__builtin_memcpy(k4.addr, addr + 12, 4);
			v = bpf_map_lookup_elem(exact4, &k4);
		}
	} else if (nonempty & bit_exact) {
		struct addr_key k = { .gen = gen };
		__builtin_memcpy(k.addr, addr, 16);
		v = bpf_map_lookup_elem(exact, &k);
	}
	if (v) {
		if (live(v, now))
			return v;
		count(&stats, STAT_EXPIRED, len);
	}
	if (!(nonempty & bit_lpm))
		return NULL;
	__builtin_memcpy(lk.addr, addr, 16);
	v = bpf_map_lookup_elem(lpm, &lk);
	if (v) {
		if (live(v, now))
			return v;
		count(&stats, STAT_EXPIRED, len);
	}
	return NULL;
}

static __always_inline void report(struct settings *s, struct pkt *p, __u32 rule_id,
				   __u32 reason, __u8 egress)
{
	struct drop_event *e;

	if (!s || !s->sample_every)
		return;
	if (s->sample_every > 1 && (bpf_get_prandom_u32() % s->sample_every) != 0)
		return;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(&stats, STAT_EVENT_LOST, 0);
		return;
	}
	e->ts_ns = bpf_ktime_get_ns();
	e->rule_id = rule_id;
	e->reason = reason;
	__builtin_memcpy(e->addr, egress ? p->dst : p->src, 16);
	e->sport = p->sport;
	e->dport = p->dport;
	e->proto = p->proto;
	e->egress = egress;
	e->pad = 0;
	e->len = p->len;
	bpf_ringbuf_submit(e, 0);
}

static __always_inline __u32 current_gen(void)
{
	__u32 zero = 0;
	__u32 *g = bpf_map_lookup_elem(&active_gen, &zero);
	return (g && *g == 1) ? 1 : 0;
}

static __always_inline __u32 restrict_bit(__u8 proto)
{
	switch (proto) {
	case PROTO_TCP:
		return RESTRICT_TCP;
	case PROTO_UDP:
		return RESTRICT_UDP;
	case PROTO_ICMP:
	case PROTO_ICMPV6:
		return RESTRICT_ICMP;
	default:
		return RESTRICT_OTHER;
	}
}

static __always_inline int src_in_group(__u32 gen, __u32 group, const __u8 *addr)
{
	struct group_key gk = { .prefixlen = 64 + 128, .gen = gen, .group = group };
	__builtin_memcpy(gk.addr, addr, 16);
	return bpf_map_lookup_elem(&src_groups, &gk) != NULL;
}

static __always_inline struct port_val *match_port(__u32 gen, struct pkt *p)
{
	struct port_key k = { .gen = gen, .proto = p->proto, .port = p->dport };
	struct port_val *v;

	v = bpf_map_lookup_elem(&port_rules, &k);
	if (v && (v->src_group == 0 || src_in_group(gen, v->src_group, p->src)))
		return v;
	if (p->dport == 0)
		return NULL;
	k.port = 0;
	v = bpf_map_lookup_elem(&port_rules, &k);
	if (v && (v->src_group == 0 || src_in_group(gen, v->src_group, p->src)))
		return v;
	return NULL;
}

/* Generic cell rate algorithm: `tat` is the theoretical arrival time; a
 * packet conforms when tat - now <= burst. */
static __always_inline int gcra(__u64 *tat, __u64 now, __u64 cost, __u64 burst)
{
	__u64 t = *tat;
	if (t < now)
		t = now;
	if (t - now > burst)
		return 0;
	*tat = t + cost;
	return 1;
}

/* Returns 0 when the packet conforms, else the STAT_RATE_* reason. */
static __always_inline __u32 rate_limit(struct settings *s, struct pkt *p, __u64 *clock)
{
	struct addr_key k = { .gen = 0 };
	struct rl_val *v;
	__u64 now;

	if (!s->pkt_cost_ns && !s->byte_cost_ps)
		return 0;
	now = clock_ns(clock);
	__builtin_memcpy(k.addr, p->src, 16);
	v = bpf_map_lookup_elem(&rate_state, &k);
	if (!v) {
		struct rl_val init = { .tat_pkt = now, .tat_byte = now };
		bpf_map_update_elem(&rate_state, &k, &init, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&rate_state, &k);
		if (!v)
			return 0;
	}
	/* Updates race between CPUs; the bucket is approximate under
	 * concurrency (documented in the crate). */
	if (s->pkt_cost_ns && !gcra(&v->tat_pkt, now, s->pkt_cost_ns, s->pkt_burst_ns))
		return STAT_RATE_PPS;
	if (s->byte_cost_ps &&
	    !gcra(&v->tat_byte, now, ((__u64)p->len * s->byte_cost_ps) / 1000, s->byte_burst_ns))
		return STAT_RATE_BPS;
	return 0;
}

SEC("xdp")
int wafio_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct pkt p = {};
	struct settings *s;
	struct addr_val *v;
	struct port_val *pv;
	__u32 gen, reason;
	__u64 now = 0; /* see clock_ns() */
	int rc;

	/* Keep `p` in memory: split into registers, its fields would be
	 * shuffled at every bounds check of the parser (measured slower). */
	asm volatile("" : : "r"(&p) : "memory");
	rc = parse(data, data_end, &p, 0);
	if (rc == PARSE_NON_IP) {
		count(&stats, STAT_NON_IP, p.len);
		return XDP_PASS;
	}
	gen = current_gen();
	s = bpf_map_lookup_elem(&settings, &gen);
	if (rc == PARSE_MALFORMED) {
		count(&stats, STAT_MALFORMED, p.len);
		report(s, &p, MAX_RULES, STAT_MALFORMED, 0);
		return XDP_DROP;
	}
	if (!s)
		return XDP_PASS;

	v = match_addr(&allow_exact4, &allow_exact, &allow_lpm, gen, p.src, p.v4, &now, p.len,
		       s->nonempty, LIST_ALLOW_EXACT4, LIST_ALLOW_EXACT, LIST_ALLOW_LPM);
	if (v) {
		count(&stats, STAT_ALLOW, p.len);
		count_rule(gen, v->rule_id, p.len);
		return XDP_PASS;
	}
	v = match_addr(&block_exact4, &block_exact, &block_lpm, gen, p.src, p.v4, &now, p.len,
		       s->nonempty, LIST_BLOCK_EXACT4, LIST_BLOCK_EXACT, LIST_BLOCK_LPM);
	if (v) {
		count(&stats, STAT_BLOCK, p.len);
		count_rule(gen, v->rule_id, p.len);
		report(s, &p, v->rule_id, STAT_BLOCK, 0);
		return XDP_DROP;
	}

	if (p.nonfirst_frag) {
		/* No L4 header: port rules cannot apply. The first fragment
		 * carried the ports and was judged by them. */
		count(&stats, STAT_FRAGMENT, p.len);
	} else {
		pv = (s->nonempty & LIST_PORTS) ? match_port(gen, &p) : NULL;
		if (pv) {
			count_rule(gen, pv->rule_id, p.len);
			if (pv->action == ACTION_DROP) {
				count(&stats, STAT_PORT_DROP, p.len);
				report(s, &p, pv->rule_id, STAT_PORT_DROP, 0);
				return XDP_DROP;
			}
			count(&stats, STAT_PORT_ALLOW, p.len);
		} else if (s->restrict_mask & restrict_bit(p.proto)) {
			count(&stats, STAT_PORT_CLOSED, p.len);
			count_rule(gen, s->closed_rule_id, p.len);
			report(s, &p, s->closed_rule_id, STAT_PORT_CLOSED, 0);
			return XDP_DROP;
		}
	}

	reason = rate_limit(s, &p, &now);
	if (reason) {
		count(&stats, reason, p.len);
		count_rule(gen, s->rate_rule_id, p.len);
		report(s, &p, s->rate_rule_id, reason, 0);
		return XDP_DROP;
	}
	count(&stats, STAT_PASS, p.len);
	return XDP_PASS;
}

SEC("classifier")
int wafio_egress(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct pkt p = {};
	struct settings *s;
	struct addr_val *v;
	struct port_val *pv;
	struct port_key k = {};
	__u32 gen;
	__u64 now = 0; /* see clock_ns() */

	asm volatile("" : : "r"(&p) : "memory"); /* see wafio_xdp() */
	if (parse(data, data_end, &p, 1) != PARSE_OK) {
		/* Our own host's traffic: unparsed frames (non-IP or headers
		 * not in the linear area) are passed and counted. */
		count(&stats, STAT_EGRESS_UNPARSED, skb->len);
		return TC_ACT_OK;
	}
	p.len = skb->len;
	gen = current_gen();
	s = bpf_map_lookup_elem(&settings, &gen);
	if (!s) {
		count(&stats, STAT_EGRESS_PASS, p.len);
		return TC_ACT_OK;
	}

	v = match_addr(&egress_exact4, &egress_exact, &egress_lpm, gen, p.dst, p.v4, &now,
		       p.len, s->nonempty, LIST_EGRESS_EXACT4, LIST_EGRESS_EXACT,
		       LIST_EGRESS_LPM);
	if (v) {
		count(&stats, STAT_EGRESS_BLOCK, p.len);
		count_rule(gen, v->rule_id, p.len);
		report(s, &p, v->rule_id, STAT_EGRESS_BLOCK, 1);
		return TC_ACT_SHOT;
	}
	if ((s->nonempty & LIST_EGRESS_PORTS) && !p.nonfirst_frag &&
	    (p.proto == PROTO_TCP || p.proto == PROTO_UDP)) {
		k.gen = gen;
		k.proto = p.proto;
		k.port = p.dport;
		pv = bpf_map_lookup_elem(&egress_ports, &k);
		if (pv) {
			count(&stats, STAT_EGRESS_BLOCK, p.len);
			count_rule(gen, pv->rule_id, p.len);
			report(s, &p, pv->rule_id, STAT_EGRESS_BLOCK, 1);
			return TC_ACT_SHOT;
		}
	}
	count(&stats, STAT_EGRESS_PASS, p.len);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
