#!/bin/sh
# `make run`: a demo Postern on loopback high ports with a demo domain and
# user, in ./demo (kept between runs). Runs in the foreground; Ctrl-C stops it.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
demo="$top/demo"
bin="$top/build/postern"
mkdir -p "$demo"
if [ "$(id -u)" = 0 ]; then user=postern; else user=$(id -un); fi
cat > "$demo/postern.conf" <<CONF
# Demo configuration written by \`make run\`; see README.md for every key.
hostname = "mx.demo.example";
data_dir = "$demo/var";
run_as = "$user";
listen = (
  { service = "smtp";        address = "127.0.0.1:2525"; },
  { service = "submission";  address = "127.0.0.1:2587"; },
  { service = "submissions"; address = "127.0.0.1:2465"; },
  { service = "pop3";        address = "127.0.0.1:2110"; },
  { service = "pop3s";       address = "127.0.0.1:2995"; },
  { service = "imap";        address = "127.0.0.1:2143"; },
  { service = "imaps";       address = "127.0.0.1:2993"; }
);
# The demo has no DNS: sender checks that need it are off.
checks = { verify_sender_domain = false; spf = "off"; rdns = "off"; };
CONF
"$bin" -c "$demo/postern.conf" domain show demo.example >/dev/null 2>&1 ||
	"$bin" -c "$demo/postern.conf" domain add demo.example
"$bin" -c "$demo/postern.conf" user show alice@demo.example >/dev/null 2>&1 ||
	printf 'demo-password\n' | "$bin" -c "$demo/postern.conf" user add alice@demo.example
cat <<MSG

Postern demo: domain demo.example, user alice@demo.example (password demo-password)
  smtp        127.0.0.1:2525   incoming mail
  submission  127.0.0.1:2587   STARTTLS + AUTH
  submissions 127.0.0.1:2465   implicit TLS + AUTH
  pop3 / pop3s 127.0.0.1:2110 (STLS) / 2995 (TLS)
  imap / imaps 127.0.0.1:2143 (STARTTLS) / 2993 (TLS)

Send a test mail from another terminal:
  swaks --server 127.0.0.1:2525 --from friend@example.net --to alice@demo.example

or as the user, through submission:
  swaks --server 127.0.0.1:2587 --tls --auth PLAIN --auth-user alice@demo.example \\
        --auth-password demo-password --from alice@demo.example --to alice@demo.example

It lands in $demo/var/mail/demo.example/alice/new/. Read it over IMAP or
POP3 (the certificate is self-signed, hence -k):
  curl -k imaps://127.0.0.1:2993/INBOX -u alice@demo.example:demo-password
  curl -k 'imaps://127.0.0.1:2993/INBOX;UID=1' -u alice@demo.example:demo-password
  curl -k pop3s://127.0.0.1:2995/1 -u alice@demo.example:demo-password
or point any mail client at 127.0.0.1 port 2993 (IMAP, SSL/TLS).
Logs follow below. Ctrl-C stops the server.

MSG
exec "$bin" -c "$demo/postern.conf" serve
