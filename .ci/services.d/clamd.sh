#!/usr/bin/env bash
# ClamAV's daemon on loopback TCP for the attachment tests (tests/files), with a config of
# ours and a tiny signature database written here: machines of the suite cannot download
# ClamAV's (production runs freshclam: docs/files.md). The one signature detects the EICAR
# test file. Debian's clamav-daemon package provides clamd (Makefile SYSTEM_PACKAGES).
set -u
PORT="${WERKPLAATS_TEST_CLAMD_PORT:-3310}"
if printf 'nPING\n' | timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT; cat >&3; head -c4 <&3" 2>/dev/null | grep -q PONG; then
  exit 0
fi
command -v clamd >/dev/null || [ -x /usr/sbin/clamd ] || { echo "clamd is not installed (apt-get install clamav-daemon)" >&2; exit 1; }
dir="${TMPDIR:-/tmp}/werkplaats-clamd"
mkdir -p "$dir/db"
# Body signature (ndb): any file type, anywhere, the EICAR string's distinctive part.
printf 'Werkplaats.Test.EICAR:0:*:%s\n' \
  "$(printf 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE' | od -An -tx1 | tr -d ' \n')" > "$dir/db/werkplaats-test.ndb"
cat > "$dir/clamd.conf" <<CONF
TCPSocket $PORT
TCPAddr 127.0.0.1
DatabaseDirectory $dir/db
PidFile $dir/clamd.pid
LogFile $dir/clamd.log
Foreground no
User $(id -un)
StreamMaxLength 100M
MaxFileSize 100M
MaxScanSize 400M
ReadTimeout 60
CONF
echo "starting clamd (127.0.0.1:$PORT)"
setsid "$(command -v clamd || echo /usr/sbin/clamd)" --config-file="$dir/clamd.conf" </dev/null >"$dir/start.log" 2>&1
for _ in $(seq 1 60); do
  if printf 'nPING\n' | timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT; cat >&3; head -c4 <&3" 2>/dev/null | grep -q PONG; then
    exit 0
  fi
  sleep 0.5
done
echo "clamd did not come up; see $dir/clamd.log and $dir/start.log" >&2
exit 1
