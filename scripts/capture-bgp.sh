#!/usr/bin/env bash
# Captures real BGP messages from BIRD and FRR peering with each other (eBGP, one IPv4 and one
# IPv6 session over a veth pair between two network namespaces this script creates) and writes
# each message to Tests/Fixtures/bgp/ as one file. Not part of the test suite; rerun it to refresh
# the fixtures. Needs root, bird2, frr and tcpdump. Everything it creates carries a random
# "sybgpXXXX" prefix and is removed on exit, even on failure; the host namespace is never touched.
set -euo pipefail

out_dir="$(cd "$(dirname "$0")/.." && pwd)/Tests/Fixtures/bgp"
prefix="sybgp$(printf '%04x' $((RANDOM % 65536)))"
ns_bird="${prefix}-bird"
ns_frr="${prefix}-frr"
work="$(mktemp -d "/tmp/${prefix}.XXXX")"
frr_conf="/etc/frr/${prefix}"
frr_run="/var/run/frr/${prefix}"
tcpdump_pid=""

cleanup() {
    set +e
    [ -n "$tcpdump_pid" ] && kill "$tcpdump_pid" 2>/dev/null && wait "$tcpdump_pid" 2>/dev/null
    for pidfile in "$work/bird.pid" "$frr_run/bgpd.pid" "$frr_run/zebra.pid"; do
        [ -s "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null
    done
    sleep 1
    ip netns del "$ns_bird" 2>/dev/null
    ip netns del "$ns_frr" 2>/dev/null
    rm -rf "$frr_conf" "$frr_run" "$work"
}
trap cleanup EXIT

[ "$(id -u)" -eq 0 ] || { echo "capture-bgp: needs root" >&2; exit 1; }

ip netns add "$ns_bird"
ip netns add "$ns_frr"
ip link add "${prefix}b" netns "$ns_bird" type veth peer name "${prefix}f" netns "$ns_frr"
for ns in "$ns_bird" "$ns_frr"; do ip -n "$ns" link set lo up; done
ip -n "$ns_bird" addr add 10.213.0.1/30 dev "${prefix}b"
ip -n "$ns_bird" addr add fd00:213::1/64 dev "${prefix}b" nodad
ip -n "$ns_frr" addr add 10.213.0.2/30 dev "${prefix}f"
ip -n "$ns_frr" addr add fd00:213::2/64 dev "${prefix}f" nodad
ip -n "$ns_bird" link set "${prefix}b" up
ip -n "$ns_frr" link set "${prefix}f" up
sleep 2 # link-local addresses (the second half of the 32-octet IPv6 next hop) need a moment

# Started before the daemons, so both OPENs are caught.
ip netns exec "$ns_frr" tcpdump -i "${prefix}f" -U -s 0 -w "$work/bgp.pcap" 'tcp port 179' 2>"$work/tcpdump.log" &
tcpdump_pid=$!
sleep 1

cat >"$work/bird.conf" <<EOF
log "$work/bird.log" all;
router id 10.213.0.1;
protocol device {}
protocol static static4 { ipv4; route 198.51.100.1/32 blackhole; }
protocol static static6 { ipv6; route 2001:db8:1::1/128 blackhole; }
# RFC 8212: eBGP needs explicit policy. Export only our statics, with communities.
filter export_statics {
    if source != RTS_STATIC then reject;
    bgp_community.add((65001, 100));
    bgp_community.add((65535, 0));
    bgp_large_community.add((65001, 1, 2));
    accept;
}
filter import_hosts {
    if net.type = NET_IP4 then {
        if net ~ [ 203.0.113.0/24{32,32} ] then accept;
        reject;
    }
    if net ~ [ 2001:db8:2::/48{128,128} ] then accept;
    reject;
}
protocol bgp frr4 {
    local 10.213.0.1 as 65001;
    neighbor 10.213.0.2 as 65002;
    hold time 9;
    keepalive time 3;
    ipv4 { import filter import_hosts; export filter export_statics; };
}
protocol bgp frr6 {
    local fd00:213::1 as 65001;
    neighbor fd00:213::2 as 65002;
    hold time 9;
    keepalive time 3;
    ipv6 { import filter import_hosts; export filter export_statics; };
}
EOF

mkdir -p "$frr_conf" "$frr_run"
cat >"$frr_conf/zebra.conf" <<EOF
hostname ${prefix}-frr
EOF
cat >"$frr_conf/bgpd.conf" <<EOF
frr defaults traditional
hostname ${prefix}-frr
route-map SET-COMMUNITIES permit 10
 set community 65002:200 65535:0
 set large-community 65002:3:4
exit
route-map ALLOW-HOSTS permit 10
exit
router bgp 65002
 bgp router-id 10.213.0.2
 no bgp network import-check
 neighbor 10.213.0.1 remote-as 65001
 neighbor 10.213.0.1 timers 3 9
 neighbor fd00:213::1 remote-as 65001
 neighbor fd00:213::1 timers 3 9
 address-family ipv4 unicast
  network 203.0.113.2/32 route-map SET-COMMUNITIES
  neighbor 10.213.0.1 route-map ALLOW-HOSTS in
  neighbor 10.213.0.1 route-map ALLOW-HOSTS out
  no neighbor fd00:213::1 activate
 exit-address-family
 address-family ipv6 unicast
  network 2001:db8:2::2/128 route-map SET-COMMUNITIES
  neighbor fd00:213::1 activate
  neighbor fd00:213::1 route-map ALLOW-HOSTS in
  neighbor fd00:213::1 route-map ALLOW-HOSTS out
 exit-address-family
exit
EOF
chown -R frr:frr "$frr_conf" "$frr_run"

ip netns exec "$ns_bird" bird -c "$work/bird.conf" -s "$work/bird.ctl" -P "$work/bird.pid"
ip netns exec "$ns_frr" /usr/lib/frr/zebra -d -N "$prefix" -f "$frr_conf/zebra.conf" -i "$frr_run/zebra.pid"
sleep 1
ip netns exec "$ns_frr" /usr/lib/frr/bgpd -d -N "$prefix" -f "$frr_conf/bgpd.conf" -i "$frr_run/bgpd.pid"

established=0
for _ in $(seq 1 60); do
    sleep 1
    if birdc -s "$work/bird.ctl" show protocols | grep -q 'frr4.*Established' &&
       birdc -s "$work/bird.ctl" show protocols | grep -q 'frr6.*Established'; then
        established=1
        break
    fi
done
birdc -s "$work/bird.ctl" show protocols
vtysh -N "$prefix" -c 'show bgp summary' || true
[ "$established" -eq 1 ] || { echo "capture-bgp: sessions did not establish" >&2; cat "$work/bird.log" >&2; exit 1; }
sleep 5 # keepalives and the route exchange

# RFC 8203/9003 shutdown communications, one from each router.
vtysh -N "$prefix" -c 'configure terminal' -c 'router bgp 65002' \
    -c 'neighbor 10.213.0.1 shutdown message switchyard capture: FRR maintenance'
birdc -s "$work/bird.ctl" disable frr6 '"switchyard capture: BIRD goodbye"'
sleep 3

kill "$tcpdump_pid"; wait "$tcpdump_pid" 2>/dev/null || true; tcpdump_pid=""
bird_version="$(bird --version 2>&1 | head -1)"
frr_version="$(/usr/lib/frr/bgpd --version | head -1)"

rm -f "$out_dir"/*.bin
python3 - "$work/bgp.pcap" "$out_dir" <<'EOF'
# Reassembles each TCP direction of port 179 from the pcap (Ethernet link type) and writes every
# BGP message as <n>-<speaker>-<session>-<type>.bin, numbered in capture order per direction.
import struct, sys
pcap, out = sys.argv[1], sys.argv[2]
data = open(pcap, 'rb').read()
endian = '<' if data[:4] == b'\xd4\xc3\xb2\xa1' else '>'
pos, streams = 24, {}
while pos + 16 <= len(data):
    _, _, caplen, _ = struct.unpack(endian + 'IIII', data[pos:pos + 16])
    frame = data[pos + 16:pos + 16 + caplen]
    pos += 16 + caplen
    ethertype = struct.unpack('!H', frame[12:14])[0]
    ip = frame[14:]
    if ethertype == 0x0800:
        header = (ip[0] & 0x0f) * 4
        if ip[9] != 6: continue
        src, dst, tcp = ip[12:16], ip[16:20], ip[header:struct.unpack('!H', ip[2:4])[0]]
    elif ethertype == 0x86dd:
        if ip[6] != 6: continue
        src, dst, tcp = ip[8:24], ip[24:40], ip[40:40 + struct.unpack('!H', ip[4:6])[0]]
    else:
        continue
    sport, dport, seq = struct.unpack('!HHI', tcp[:8])
    payload = tcp[(tcp[12] >> 4) * 4:]
    if payload:
        streams.setdefault((src, sport, dst, dport), {})[seq] = payload
speaker = {bytes([10, 213, 0, 1]): 'bird', bytes([10, 213, 0, 2]): 'frr'}
names = {1: 'open', 2: 'update', 3: 'notification', 4: 'keepalive', 5: 'route-refresh'}
count = 0
for (src, sport, dst, dport), segments in streams.items():
    who = speaker.get(src) or ('bird' if src[-1] == 1 else 'frr')
    session = 'v4' if len(src) == 4 else 'v6'
    stream, expected = b'', None
    for seq in sorted(segments):  # a 32-bit wrap does not happen in a capture this short
        if expected is None or seq == expected:
            stream += segments[seq]
            expected = seq + len(segments[seq])
    index = 0
    while len(stream) >= 19:
        length = struct.unpack('!H', stream[16:18])[0]
        if len(stream) < length: break
        message, stream = stream[:length], stream[length:]
        index += 1
        name = f'{out}/{who}-{session}-{index:02d}-{names.get(message[18], "type%d" % message[18])}.bin'
        open(name, 'wb').write(message)
        count += 1
print(f'capture-bgp: wrote {count} messages to {out}')
EOF
echo "capture-bgp: $bird_version, $frr_version"
