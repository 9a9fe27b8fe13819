/* The UDP calls BFD needs and Swift's Glibc module cannot make comfortably: reading a datagram's
 * TTL / hop limit from recvmsg's control messages (RFC 5881 §5, GTSM), whose CMSG_* macros do
 * not import, and the sockaddr plumbing around it. Addresses are 4 (AF_INET) or 16 (AF_INET6)
 * octets in network order; ports are host order. Each returns a value >= 0 or -errno. */
#ifndef SWITCHYARD_UDP_H
#define SWITCHYARD_UDP_H

#include <stddef.h>
#include <sys/types.h>

/* A UDP socket of `family` bound to `address`:`port` (port 0: the kernel picks), close-on-exec
 * and non-blocking, sending with TTL / hop limit `ttl` and reporting each received datagram's
 * TTL / hop limit. `reuse` sets SO_REUSEADDR. Returns the descriptor. */
int switchyard_udp_open(int family, const unsigned char *address, unsigned short port, int ttl, int reuse);

/* Sends `length` octets to `address`:`port` without blocking. Returns 0. */
int switchyard_udp_send(int fd, int family, const unsigned char *address, unsigned short port, const void *data,
			size_t length);

/* Waits up to `timeout_ms` for one datagram and reads it into `buffer`. Returns its length (the
 * part that fit), with the sender's family, address (16 octets of room) and port, and the TTL /
 * hop limit it arrived with (-1 when the kernel gave none); -EAGAIN when nothing came in time. */
ssize_t switchyard_udp_receive(int fd, int timeout_ms, void *buffer, size_t length, int *from_family,
			       unsigned char *from_address, unsigned short *from_port, int *ttl);

#endif
