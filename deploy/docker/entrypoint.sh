#!/bin/sh
# The image's entry point: opcua-ingest with V8 heap settings that suit the command.
#
# `run` is a long-lived connector whose memory an operator sizes: a young generation of 2 x 8 MB
# (--max-semi-space-size=8) holds its RSS 13-17 MB lower at 6 % more CPU (10,000 points, 40,000
# values/s). A backfill (or any other command) is a batch job: with V8's default young generation it
# delivered 16-29 % more values a second at 16 MB more RSS (README Performance), so the cap is for
# `run` only. A --max-semi-space-size of the operator's own in NODE_OPTIONS wins for every command.
set -e
if [ "${1-}" = run ]; then
  case " ${NODE_OPTIONS-} " in
    *--max-semi-space-size*|*--max_semi_space_size*) ;;
    *) NODE_OPTIONS="${NODE_OPTIONS:+$NODE_OPTIONS }--max-semi-space-size=8"; export NODE_OPTIONS ;;
  esac
fi
exec node "$(dirname "$0")/dist/cli/main.js" "$@"
