/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Backend-side decapsulation (tc ingress). Strips the outer header the LB added — IPIP,
 * IPv6-in-IPv6, or GUE variant 1 on the configured UDP port — so the inner packet, addressed
 * to a VIP on `lo`, reaches the local stack. Everything else passes untouched.
 *
 * In a pod, the inner destination port may then be mapped to the pod's target port
 * (`sy_port_in`), and `switchyard_pod_egress` (tc egress of the pod's interface) maps the
 * replies' source port back (`sy_port_out`), so the client sees the service port.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "switchyard_abi.h"
#include "decap_maps.h"
#include "port_map.h"

/* Missing from older uapi headers (the running kernel's BTF has them). */
#ifndef BPF_F_ADJ_ROOM_DECAP_L3_IPV4
#define BPF_F_ADJ_ROOM_DECAP_L3_IPV4 (1ULL << 7)
#define BPF_F_ADJ_ROOM_DECAP_L3_IPV6 (1ULL << 8)
#endif

/* The decapsulated packet's destination port → target port, if a mapping says so. */
static __always_inline int map_destination_port(struct __sk_buff *skb)
{
	struct sy_port_key key = {};
	struct sy_port_value *to;
	__u32 l4 = sy_port_key_of(skb, &key, SY_PORT_END_DESTINATION);

	if (!l4)
		return TC_ACT_OK;
	to = bpf_map_lookup_elem(&sy_port_in, &key);
	if (!to)
		return TC_ACT_OK;
	if (sy_port_rewrite(skb, l4, key.proto, SY_PORT_END_DESTINATION, key.port, to->port))
		return count(SY_DECAP_MAP_FAILED, TC_ACT_SHOT);
	return count(SY_DECAP_PORT_MAPPED, TC_ACT_OK);
}

/* Remove `len` bytes after the Ethernet header; the inner family sets the new EtherType. */
static __always_inline int strip(struct __sk_buff *skb, __u32 len, __u8 inner_version)
{
	__u64 flags = inner_version == 4 ? BPF_F_ADJ_ROOM_DECAP_L3_IPV4 : BPF_F_ADJ_ROOM_DECAP_L3_IPV6;
	__be16 proto = bpf_htons(inner_version == 4 ? ETH_P_IP : ETH_P_IPV6);

	if (bpf_skb_adjust_room(skb, -(__s32)len, BPF_ADJ_ROOM_MAC, flags))
		return count(SY_DECAP_FAILED, TC_ACT_SHOT);
	if (bpf_skb_store_bytes(skb, offsetof(struct ethhdr, h_proto), &proto, sizeof(proto), 0))
		return count(SY_DECAP_FAILED, TC_ACT_SHOT);
	count(SY_DECAP_OK, TC_ACT_OK);
	return map_destination_port(skb);
}

static __always_inline int inner_version(void *data, void *data_end, __u32 off)
{
	__u8 *v = data + off;

	if ((void *)(v + 1) > data_end)
		return 0;
	return *v >> 4;
}

SEC("tc")
int switchyard_decap(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	__u32 zero = 0, outer;
	__u8 proto;
	int v;

	if ((void *)(eth + 1) > data_end)
		return TC_ACT_OK;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = (void *)(eth + 1);

		if ((void *)(iph + 1) > data_end || iph->ihl != 5)
			return TC_ACT_OK;
		proto = iph->protocol;
		outer = sizeof(*iph);
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > data_end)
			return TC_ACT_OK;
		proto = ip6->nexthdr;
		outer = sizeof(*ip6);
	} else {
		return TC_ACT_OK;
	}

	if (proto == IPPROTO_IPIP || proto == 41) {
		v = inner_version(data, data_end, sizeof(*eth) + outer);
		if (v != (proto == IPPROTO_IPIP ? 4 : 6))
			return TC_ACT_OK;
		return strip(skb, outer, v);
	}
	if (proto == IPPROTO_UDP) {
		struct sy_decap_config *cfg = bpf_map_lookup_elem(&sy_decap_config, &zero);
		struct udphdr *uh = data + sizeof(*eth) + outer;

		if (!cfg || !cfg->gue_port || (void *)(uh + 1) > data_end || uh->dest != cfg->gue_port)
			return TC_ACT_OK;
		v = inner_version(data, data_end, sizeof(*eth) + outer + sizeof(*uh));
		if (v != 4 && v != 6)
			return TC_ACT_OK;
		return strip(skb, outer + sizeof(*uh), v);
	}
	return TC_ACT_OK;
}

/*
 * tc egress of a pod's interface: a reply from (vip, targetPort, proto) of a mapping leaves
 * from the service port, as the client addressed it. Everything else passes untouched.
 */
SEC("tc")
int switchyard_pod_egress(struct __sk_buff *skb)
{
	struct sy_port_key key = {};
	struct sy_port_value *to;
	__u32 l4 = sy_port_key_of(skb, &key, SY_PORT_END_SOURCE);

	if (!l4)
		return TC_ACT_OK;
	to = bpf_map_lookup_elem(&sy_port_out, &key);
	if (!to)
		return TC_ACT_OK;
	if (sy_port_rewrite(skb, l4, key.proto, SY_PORT_END_SOURCE, key.port, to->port))
		return count(SY_DECAP_MAP_FAILED, TC_ACT_SHOT);
	return count(SY_DECAP_REPLY_MAPPED, TC_ACT_OK);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
