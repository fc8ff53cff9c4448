#!/bin/sh
# questlog's Python environment, built in an image's build stage: /opt/questlog/venv with
# the locked requirements of the image's extras (/build/requirements.txt, exported from
# uv.lock with their hashes: all of them, or what they add to the image it is built on),
# and on its path /opt/questlog/app, where the image copies questlog's packages. Two folders, so that a change of code rebuilds a small layer and
# not the environment. Downloads trust the build's CA bundle (/build/build-ca.crt, empty
# unless one was given) besides the base's; it stays in the build stage.
set -eu
cat /build/build-ca.crt >> /etc/ssl/certs/ca-certificates.crt
export SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
  UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_NO_CACHE=1 UV_PYTHON_DOWNLOADS=never
python -m venv /opt/uv
/opt/uv/bin/pip install --quiet --no-cache-dir --disable-pip-version-check \
  "uv==$(cat /build/uv-version)"
/opt/uv/bin/uv venv --quiet /opt/questlog/venv
/opt/uv/bin/uv pip install --quiet --python /opt/questlog/venv/bin/python --require-hashes --no-deps \
  --requirements /build/requirements.txt
site=$(/opt/questlog/venv/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
echo /opt/questlog/app > "$site/questlog-app.pth"
