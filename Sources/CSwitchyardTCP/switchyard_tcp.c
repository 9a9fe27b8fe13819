#define _GNU_SOURCE
#include "switchyard_tcp.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <string.h>

int switchyard_tcp_set_md5(int fd, const struct sockaddr *peer, socklen_t peer_length, const void *key,
			   int key_length)
{
	struct tcp_md5sig sig;

	if (peer_length > sizeof(sig.tcpm_addr) || key_length < 0 || key_length > TCP_MD5SIG_MAXKEYLEN)
		return -EINVAL;
	memset(&sig, 0, sizeof(sig));
	memcpy(&sig.tcpm_addr, peer, peer_length);
	sig.tcpm_keylen = (unsigned short)key_length;
	memcpy(sig.tcpm_key, key, (size_t)key_length);
	return setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &sig, sizeof(sig)) == 0 ? 0 : -errno;
}

int switchyard_setns_net(int fd)
{
	return setns(fd, CLONE_NEWNET) == 0 ? 0 : -errno;
}

int switchyard_tcp_md5_max_key_length(void)
{
	return TCP_MD5SIG_MAXKEYLEN;
}
