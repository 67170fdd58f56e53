#!/bin/sh
# SeaweedFS's S3 gateway with one identity (S3_ACCESS_KEY / S3_SECRET_KEY), every port from the
# environment so that several stacks can share a host network.
set -eu
: "${S3_ACCESS_KEY:?}" "${S3_SECRET_KEY:?}"
S3_PORT=${S3_PORT:-9000}
BASE=${S3_PORT_BASE:-$((S3_PORT + 1))}
mkdir -p /data/weed
cat >/data/s3.json <<JSON
{"identities": [{"name": "reelhouse",
  "credentials": [{"accessKey": "$S3_ACCESS_KEY", "secretKey": "$S3_SECRET_KEY"}],
  "actions": ["Admin", "Read", "List", "Tagging", "Write"]}]}
JSON
exec /opt/s3/bin/weed server -dir=/data/weed -ip=127.0.0.1 -ip.bind="${S3_BIND:-0.0.0.0}" \
    -master.port="$BASE" -master.port.grpc=$((BASE + 1)) -master.telemetry=false \
    -master.volumeSizeLimitMB=256 -volume.max=0 \
    -volume.port=$((BASE + 2)) -volume.port.grpc=$((BASE + 3)) \
    -filer -filer.port=$((BASE + 4)) -filer.port.grpc=$((BASE + 5)) \
    -s3 -s3.port="$S3_PORT" -s3.port.grpc=$((BASE + 6)) -s3.port.iceberg=0 -s3.port.lance=0 \
    -s3.config=/data/s3.json
