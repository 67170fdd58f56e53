#!/bin/sh
# The image's entry point: the service named at build time (SERVICE), arguments passed on,
# e.g. `docker run reelhouse/gateway keys create --owner alice`.
exec python -m "reelhouse.${SERVICE}" "$@"
