#!/bin/sh
# Node's heap defaults to a few GB whatever the instance holds: give it three quarters of the memory
# (the rest is the engine's typed arrays, outside the heap, and the system's).
set -eu
total_kb=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
exec node --enable-source-maps --max-old-space-size=$((total_kb * 3 / 4 / 1024)) /opt/avatarizer/avatarizer.mjs "$@"
