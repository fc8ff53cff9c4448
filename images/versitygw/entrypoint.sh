#!/bin/sh
# Serves S3 on :8333 from the folder /data, one bucket a folder, with the account of
# AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (the keys every client of the lake reads).
# The buckets named in S3_BUCKETS (comma-separated) are made when missing.
set -eu
: "${AWS_ACCESS_KEY_ID:?set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY: the account S3 clients use}"
: "${AWS_SECRET_ACCESS_KEY:?set AWS_SECRET_ACCESS_KEY}"
for bucket in $(echo "${S3_BUCKETS:-}" | tr ',' ' '); do
  mkdir -p "/data/$bucket"
done
ROOT_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID ROOT_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY \
  exec versitygw --port :8333 --health /health --region "${S3_REGION:-us-east-1}" --quiet \
  posix /data
