/* The two socket calls Swift's Glibc module does not give us: TCP-MD5 (RFC 2385), whose
 * struct tcp_md5sig is not exported, and setns, which is hidden. Each returns 0 or -errno. */
#ifndef SWITCHYARD_TCP_H
#define SWITCHYARD_TCP_H

#include <sys/socket.h>

/* Sets the TCP-MD5 key for segments to and from `peer` on `fd`; must happen before connect. */
int switchyard_tcp_set_md5(int fd, const struct sockaddr *peer, socklen_t peer_length, const void *key,
			   int key_length);

/* Moves the calling thread into the network namespace open at `fd` (setns is per thread). */
int switchyard_setns_net(int fd);

/* The longest key the kernel accepts (TCP_MD5SIG_MAXKEYLEN). */
int switchyard_tcp_md5_max_key_length(void);

#endif
