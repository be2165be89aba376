#!/bin/sh
# npm run gateway / sim:scheme / sim:participant: runs the compiled entry point (production runs
# the build, not tsx, which compiles at run time and holds the compiler in memory). exec, so that
# signals reach node itself.
main="dist/$1.js"
shift
if [ ! -f "$main" ]; then
  echo "$main is missing: run npm run build first" >&2
  exit 1
fi
exec node "$main" "$@"
