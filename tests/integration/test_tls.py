"""TLS material: the self-signed fallback in data_dir/tls/ and a
certificate named in the configuration."""

import os
import pwd
import smtplib
import ssl
import stat
import subprocess

from conftest import BIN, PASSWORD, RUN_AS


def test_self_signed_certificate_is_made_once_with_a_private_key(postern):
    key = postern.data_dir / "tls" / "key.pem"
    cert = postern.data_dir / "tls" / "cert.pem"
    st = key.stat()
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert pwd.getpwuid(st.st_uid).pw_name == RUN_AS
    subject = subprocess.check_output(["openssl", "x509", "-in", str(cert), "-noout",
                                       "-subject", "-ext", "subjectAltName"], text=True)
    assert "mx.example.org" in subject
    before = cert.read_bytes()
    postern.stop()
    postern.start()
    assert cert.read_bytes() == before


def test_configured_certificate_is_served(make_postern, tmp_path):
    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "2", "-subj", "/CN=custom.example.net",
                    "-addext", "subjectAltName=DNS:custom.example.net"],
                   check=True, capture_output=True)
    os.chmod(key, 0o600)
    p = make_postern(extra=f'tls = {{ cert = "{cert}"; key = "{key}"; }};')
    ctx = ssl.create_default_context(cafile=str(cert))
    ctx.check_hostname = False
    # Verification succeeds only if the server presents exactly this certificate.
    c = smtplib.SMTP_SSL("127.0.0.1", p.submissions_port, timeout=10, context=ctx)
    c.login("alice@example.org", PASSWORD)
    c.quit()
    assert not (p.data_dir / "tls" / "key.pem").exists()


def test_unreadable_certificate_fails_to_start_with_one_line(make_postern, tmp_path):
    p = make_postern(extra=f'tls = {{ cert = "{tmp_path}/none.pem"; key = "{tmp_path}/none.key"; }};',
                     start=False)
    r = subprocess.run([BIN, "-c", str(p.conf), "serve"],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 1
    assert r.stderr.startswith("postern: tls: ") and r.stderr.count("\n") == 1
