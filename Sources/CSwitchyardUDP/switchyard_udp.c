#define _GNU_SOURCE
#include "switchyard_udp.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static socklen_t fill_address(struct sockaddr_storage *storage, int family, const unsigned char *address,
			      unsigned short port)
{
	memset(storage, 0, sizeof(*storage));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)storage;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, address, 4);
		return sizeof(*sin);
	}
	if (family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)storage;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, address, 16);
		return sizeof(*sin6);
	}
	return 0;
}

int switchyard_udp_open(int family, const unsigned char *address, unsigned short port, int ttl, int reuse)
{
	struct sockaddr_storage local;
	socklen_t length = fill_address(&local, family, address, port);
	int one = 1;
	int fd;

	if (length == 0)
		return -EAFNOSUPPORT;
	fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (reuse && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0)
		goto fail;
	if (family == AF_INET) {
		if (setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl)) != 0 ||
		    setsockopt(fd, IPPROTO_IP, IP_RECVTTL, &one, sizeof(one)) != 0)
			goto fail;
	} else {
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0 ||
		    setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl, sizeof(ttl)) != 0 ||
		    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &one, sizeof(one)) != 0)
			goto fail;
	}
	if (bind(fd, (struct sockaddr *)&local, length) != 0)
		goto fail;
	return fd;
fail:
	one = errno;
	close(fd);
	return -one;
}

int switchyard_udp_send(int fd, int family, const unsigned char *address, unsigned short port, const void *data,
			size_t length)
{
	struct sockaddr_storage peer;
	socklen_t peer_length = fill_address(&peer, family, address, port);

	if (peer_length == 0)
		return -EAFNOSUPPORT;
	if (sendto(fd, data, length, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&peer, peer_length) < 0)
		return -errno;
	return 0;
}

ssize_t switchyard_udp_receive(int fd, int timeout_ms, void *buffer, size_t length, int *from_family,
			       unsigned char *from_address, unsigned short *from_port, int *ttl)
{
	struct pollfd waiting = {.fd = fd, .events = POLLIN};
	struct sockaddr_storage from;
	union {
		char buffer[CMSG_SPACE(sizeof(int)) * 2];
		struct cmsghdr align;
	} control;
	struct iovec vector = {.iov_base = buffer, .iov_len = length};
	struct msghdr message = {
		.msg_name = &from,
		.msg_namelen = sizeof(from),
		.msg_iov = &vector,
		.msg_iovlen = 1,
		.msg_control = control.buffer,
		.msg_controllen = sizeof(control.buffer),
	};
	struct cmsghdr *header;
	ssize_t received;
	int ready = poll(&waiting, 1, timeout_ms);

	if (ready < 0)
		return -errno;
	if (ready == 0)
		return -EAGAIN;
	received = recvmsg(fd, &message, MSG_DONTWAIT);
	if (received < 0)
		return -errno;
	*ttl = -1;
	for (header = CMSG_FIRSTHDR(&message); header != NULL; header = CMSG_NXTHDR(&message, header)) {
		int value;

		if (header->cmsg_len < CMSG_LEN(sizeof(int)))
			continue;
		if ((header->cmsg_level == IPPROTO_IP && header->cmsg_type == IP_TTL) ||
		    (header->cmsg_level == IPPROTO_IPV6 && header->cmsg_type == IPV6_HOPLIMIT)) {
			memcpy(&value, CMSG_DATA(header), sizeof(value));
			*ttl = value;
		}
	}
	*from_family = from.ss_family;
	if (from.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&from;

		memcpy(from_address, &sin->sin_addr, 4);
		*from_port = ntohs(sin->sin_port);
	} else if (from.ss_family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&from;

		memcpy(from_address, &sin6->sin6_addr, 16);
		*from_port = ntohs(sin6->sin6_port);
	}
	return received;
}
