/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A reference for `switchyard datapath bench`, never attached: the flow-table step of a new flow
 * done with the kernel's LRU hash map (what other XDP balancers use), at the size of Switchyard's
 * benchmark table. The flow key is Switchyard's, taken from an untagged IPv4 TCP frame; a lookup
 * that misses is followed by an insert, as for a SYN.
 */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1 << 20);
	__type(key, struct sy_flow_key);
	__type(value, struct sy_flow_entry);
} sy_reference_lru SEC(".maps");

SEC("xdp")
int switchyard_reference_lru(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct sy_flow_entry entry = {.backend = 1, .service = 0};
	struct sy_flow_key key = {};
	__be32 *addrs = data + 26; /* IPv4 source and destination */
	__be16 *ports = data + 34; /* TCP ports, for a 20-byte IPv4 header */

	if ((void *)(ports + 2) > data_end)
		return XDP_PASS;
	key.src[0] = addrs[0];
	key.dst[0] = addrs[1];
	key.sport = ports[0];
	key.dport = ports[1];
	key.proto = IPPROTO_TCP;
	key.family = SY_FAMILY_V4;
	if (bpf_map_lookup_elem(&sy_reference_lru, &key))
		return XDP_PASS;
	bpf_map_update_elem(&sy_reference_lru, &key, &entry, BPF_ANY);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
