#!/usr/bin/python3
"""A tiny authoritative DNS server for the dns module's tests (UDP on
127.0.0.1 only). Prints the port it bound on its first line, then serves
until stdin closes. Zone: see ZONE below, plus the records of the zone
file named as the first argument, if any (one record a line: NAME TYPE
DATA, TYPE one of A, AAAA, MX "PREF HOST", TXT, PTR; '#' starts a comment);
other names are NXDOMAIN, names without the asked type are NODATA,
servfail.example answers SERVFAIL and timeout.example is never answered.
Never forwards anywhere."""

import select
import socket
import sys

from dnslib import AAAA, A, DNSLabel, DNSRecord, MX, PTR, QTYPE, RCODE, RR, TXT

ZONE = {
    "example.net.": [(QTYPE.MX, MX("mx1.example.net.", 10)),
                     (QTYPE.MX, MX("mx2.example.net.", 20))],
    "mx1.example.net.": [(QTYPE.A, A("127.0.0.1"))],
    "mx2.example.net.": [(QTYPE.AAAA, AAAA("::1"))],
    "nullmx.example.": [(QTYPE.MX, MX(".", 0))],
    "txt.example.": [(QTYPE.TXT, TXT([b"v=spf1 ", b"-all"]))],
    # libunbound answers 127.0.0.1 itself ("localhost", a built-in local
    # zone), so the C test asks for 1.2.3.4; both are served here.
    "1.0.0.127.in-addr.arpa.": [(QTYPE.PTR, PTR("mx1.example.net."))],
    "4.3.2.1.in-addr.arpa.": [(QTYPE.PTR, PTR("mx1.example.net."))],
}
SERVFAIL = DNSLabel("servfail.example.")
DROP = DNSLabel("timeout.example.")


def load_zone(path):
    """Adds the records of a zone file to ZONE."""
    kinds = {"A": lambda d: (QTYPE.A, A(d)),
             "AAAA": lambda d: (QTYPE.AAAA, AAAA(d)),
             "MX": lambda d: (QTYPE.MX, MX(d.split()[1], int(d.split()[0]))),
             "TXT": lambda d: (QTYPE.TXT, TXT(d.encode())),
             "PTR": lambda d: (QTYPE.PTR, PTR(d))}
    with open(path, encoding="ascii") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            name, kind, data = line.split(None, 2)
            ZONE.setdefault(name, []).append(kinds[kind](data))


def answer(req):
    q = req.q
    reply = req.reply()  # QR, AA and RD copied; RA set
    if q.qname == SERVFAIL:
        reply.header.rcode = RCODE.SERVFAIL
        return reply
    for name, records in ZONE.items():
        if q.qname == DNSLabel(name):
            for rtype, rdata in records:
                if rtype == q.qtype:
                    reply.add_answer(RR(q.qname, rtype, rdata=rdata, ttl=60))
            return reply  # NODATA when nothing matched the type
    reply.header.rcode = RCODE.NXDOMAIN
    return reply


def main():
    if len(sys.argv) > 1:
        load_zone(sys.argv[1])
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    while True:
        ready, _, _ = select.select([sock, sys.stdin], [], [])
        if sys.stdin in ready and not sys.stdin.buffer.read1(4096):
            return
        if sock in ready:
            data, peer = sock.recvfrom(4096)
            try:
                req = DNSRecord.parse(data)
            except Exception:  # noqa: BLE001 - garbage in, nothing out
                continue
            if req.q.qname == DROP:
                continue
            sock.sendto(answer(req).pack(), peer)


if __name__ == "__main__":
    main()
