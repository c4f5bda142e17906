#!/usr/bin/python3
"""A real milter for the integration tests, on libmilter (Debian's
python3-milter, pymilter): what it does depends on the message's Subject.

    testmilter.py SOCKET [LOG]

SOCKET is libmilter's: "inet:PORT@127.0.0.1" or "unix:/path". It prints
"ready" on stdout once it listens. LOG, when given, gets one line per
callback (connect, helo, mail, rcpt, header, eoh, body bytes, eom with
the macros it was given), so that a test can check what Postern sent.

Every message gets "X-Test-Milter: seen". A Subject containing:
  milter-reject          550 5.7.1 (setreply) and REJECT
  milter-tempfail        451 4.7.1 (setreply) and TEMPFAIL
  milter-discard         DISCARD
  milter-replace         body replaced by "replaced by milter\\n"
  milter-chgheader       Subject changed to "changed by milter"
  milter-delheader       the first X-Remove-Me field deleted
  milter-addrcpt:ADDR    recipient ADDR added
  milter-delrcpt:ADDR    recipient ADDR deleted
  milter-quarantine      quarantined ("test milter")
Several may be combined; reject, tempfail and discard win over the rest.
"""

import re
import sys
import threading

import Milter
import milter

LOG = None
LOG_LOCK = threading.Lock()


def log(*words):
    if LOG is None:
        return
    with LOG_LOCK:
        with open(LOG, "a", encoding="utf-8", errors="replace") as f:
            f.write(" ".join(str(w) for w in words) + "\n")


class TestMilter(Milter.Base):
    def __init__(self):
        super().__init__()
        self.subject = ""
        self.body_len = 0

    def connect(self, hostname, family, hostaddr):
        log("connect", hostname, hostaddr[0] if isinstance(hostaddr, tuple) else hostaddr,
            "client_addr=" + str(self.getsymval("{client_addr}")),
            "j=" + str(self.getsymval("j")))
        return Milter.CONTINUE

    def hello(self, heloname):
        log("helo", heloname)
        return Milter.CONTINUE

    def envfrom(self, mailfrom, *params):
        self.subject = ""
        self.body_len = 0
        log("mail", mailfrom, "auth_authen=" + str(self.getsymval("{auth_authen}")))
        return Milter.CONTINUE

    def envrcpt(self, to, *params):
        log("rcpt", to)
        return Milter.CONTINUE

    def header(self, name, value):
        log("header", name + ":", value.replace("\n", "\\n"))
        if name.lower() == "subject":
            self.subject = value
        return Milter.CONTINUE

    def eoh(self):
        log("eoh")
        return Milter.CONTINUE

    def body(self, chunk):
        self.body_len += len(chunk)
        return Milter.CONTINUE

    def eom(self):
        s = self.subject
        log("eom", "i=" + str(self.getsymval("i")), "body=" + str(self.body_len))
        if "milter-reject" in s:
            self.setreply("550", "5.7.1", "rejected by the test milter")
            return Milter.REJECT
        if "milter-tempfail" in s:
            self.setreply("451", "4.7.1", "the test milter says later")
            return Milter.TEMPFAIL
        if "milter-discard" in s:
            return Milter.DISCARD
        self.addheader("X-Test-Milter", "seen")
        if "milter-replace" in s:
            self.replacebody(b"replaced by milter\n")
        if "milter-chgheader" in s:
            self.chgheader("Subject", 1, "changed by milter")
        if "milter-delheader" in s:
            self.chgheader("X-Remove-Me", 1, "")
        for addr in re.findall(r"milter-addrcpt:(\S+)", s):
            self.addrcpt("<%s>" % addr)
        for addr in re.findall(r"milter-delrcpt:(\S+)", s):
            self.delrcpt("<%s>" % addr)
        if "milter-quarantine" in s:
            self.quarantine("test milter")
        return Milter.ACCEPT

    def abort(self):
        log("abort")
        return Milter.CONTINUE

    def close(self):
        return Milter.CONTINUE


def main():
    global LOG
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    socket = sys.argv[1]
    if len(sys.argv) == 3:
        LOG = sys.argv[2]
    Milter.factory = TestMilter
    # Milter.runmilter() without its blocking main, so that "ready" is
    # printed once the socket listens.
    milter.set_flags(Milter.ADDHDRS | Milter.CHGHDRS | Milter.CHGBODY |
                     Milter.ADDRCPT | Milter.DELRCPT | Milter.QUARANTINE)
    milter.set_connect_callback(Milter.connect_callback)
    milter.set_helo_callback(lambda ctx, host: ctx.getpriv().hello(host))
    milter.set_envfrom_callback(lambda ctx, *b: ctx.getpriv().envfrom_bytes(*b))
    milter.set_envrcpt_callback(lambda ctx, *b: ctx.getpriv().envrcpt_bytes(*b))
    milter.set_header_callback(lambda ctx, f, v: ctx.getpriv().header_bytes(f, v))
    milter.set_eoh_callback(lambda ctx: ctx.getpriv().eoh())
    milter.set_body_callback(lambda ctx, chunk: ctx.getpriv().body(chunk))
    milter.set_eom_callback(lambda ctx: ctx.getpriv().eom())
    milter.set_abort_callback(lambda ctx: ctx.getpriv().abort())
    milter.set_close_callback(Milter.close_callback)
    milter.setconn(socket)
    milter.settimeout(30)
    milter.register("postern-test", data=lambda ctx: ctx.getpriv().data(),
                    unknown=lambda ctx, cmd: ctx.getpriv().unknown(cmd),
                    negotiate=Milter.negotiate_callback)
    milter.opensocket(True)
    print("ready", flush=True)
    milter.main()


if __name__ == "__main__":
    main()
