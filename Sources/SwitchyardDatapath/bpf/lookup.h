/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Stage 2 — mirrors DatapathModel/Pipeline/Lookup.swift: which service a packet is for. */
#ifndef SY_LOOKUP_H
#define SY_LOOKUP_H

#include "maps.h"

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
	return bpf_map_lookup_elem(&sy_services, &key);
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
