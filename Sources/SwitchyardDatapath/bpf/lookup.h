/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Stage 2 — mirrors DatapathModel/Pipeline/Lookup.swift: which service a packet is for. */
#ifndef SY_LOOKUP_H
#define SY_LOOKUP_H

#include "maps.h"

static __always_inline int service_key_equal(const struct sy_service_key *a, const struct sy_service_key *b)
{
	const __u32 *x = (const __u32 *)a, *y = (const __u32 *)b;

	return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]) | (x[4] ^ y[4])) == 0;
}

/* The service for `key` from the live half of the index, or NULL (then the map decides). */
static __always_inline struct sy_service *indexed_service(const struct sy_service_key *key)
{
	__u32 zero = 0, *generation = bpf_map_lookup_elem(&sy_service_generation, &zero);
	__u32 base, first;

	if (!generation)
		return NULL;
	base = (*generation & 1) * SY_SERVICE_INDEX_SLOTS;
	first = sy_service_index_slot(key);
#pragma unroll
	for (int i = 0; i < SY_SERVICE_INDEX_PROBES; i++) {
		__u32 index = base + ((first + i) & (SY_SERVICE_INDEX_SLOTS - 1));
		struct sy_service_slot *slot = bpf_map_lookup_elem(&sy_service_index, &index);

		if (!slot || slot->key.family == 0)
			return NULL;
		if (service_key_equal(&slot->key, key))
			return &slot->svc;
	}
	return NULL;
}

static __always_inline struct sy_service *lookup_service(const __be32 *vip, __u8 family, __be16 port, __u8 proto)
{
	struct sy_service_key key = {};

	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return NULL;
	key.addr[0] = vip[0];
	key.addr[1] = vip[1];
	key.addr[2] = vip[2];
	key.addr[3] = vip[3];
	key.port = port;
	key.proto = proto;
	key.family = family;
	return indexed_service(&key) ?: bpf_map_lookup_elem(&sy_services, &key);
}

/* The service for TCP/UDP whose ports sit right after the IP header, if any: a hit proves the
 * destination is a VIP (every service's VIP is in sy_vips), saving the VIP lookup. Fragments and
 * malformed headers are still judged afterwards, in the model's order. */
static __always_inline struct sy_service *peek_service(void *data, void *data_end, __u32 l4, __u32 ip_end,
						       const __be32 *dst, __u8 family, __u8 proto)
{
	__be16 *ports;

	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return NULL;
	if (l4 > 0x3fff || l4 + 4 > ip_end)
		return NULL;
	ports = data + l4;
	if ((void *)(ports + 2) > data_end)
		return NULL;
	return lookup_service(dst, family, ports[1], proto);
}

#endif
