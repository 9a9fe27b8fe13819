/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Stage 2b — mirrors DatapathModel/Pipeline/SourceRange.swift: may this client reach the service?
 * Right after the service is known, before the flow table: a denied client neither creates nor
 * refreshes an entry. */
#ifndef SY_SOURCE_RANGE_H
#define SY_SOURCE_RANGE_H

#include "drop.h"

/* SY_CONTINUE when `client` may reach `svc` (it has no ranges, or one holds the client), else the
 * counted drop. `client` is four network-order words, IPv4 in the first. */
static __always_inline int check_source_range(const struct sy_service *svc, const __be32 *client, __u8 family)
{
	struct sy_source_range_key key = {};

	if (!(svc->flags & SY_SVC_F_SOURCE_RANGES))
		return SY_CONTINUE;
	key.prefixlen = SY_SOURCE_RANGE_ID_BITS + (family == SY_FAMILY_V4 ? 32 : 128);
	key.service = svc->id;
	key.addr[0] = client[0];
	key.addr[1] = client[1];
	key.addr[2] = client[2];
	key.addr[3] = client[3];
	if (bpf_map_lookup_elem(&sy_source_ranges, &key))
		return SY_CONTINUE;
	return count_drop(SY_DROP_SOURCE_RANGE);
}

#endif
