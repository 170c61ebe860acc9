#!/bin/sh
# The image's entry point: opcua-ingest with a V8 young generation (--max-semi-space-size, MB) that
# suits the command; measured with the bench (README Performance).
#
#   run       8: a long-lived connector whose memory an operator sizes; 2 x 8 MB holds its RSS 13-17 MB
#             lower at 6 % more CPU (10,000 points, 40,000 values/s).
#   backfill  64: a batch job that turns over 100,000s of values a second; against V8's default (16)
#             the connector spent 13 % less CPU a value (4.98 against 5.72 us, means of 4 and 7 runs)
#             and delivered 6 % more, at about 95 MB more RSS (300 MB, flat over the run). 32 gave
#             7 % less CPU and 2 % more values a second at 35 MB more (7 runs).
#   others    V8's default.
#
# A --max-semi-space-size of the operator's own in NODE_OPTIONS wins for every command.
set -e
case "${1-}" in
  run) young=8 ;;
  backfill) young=64 ;;
  *) young= ;;
esac
if [ -n "$young" ]; then
  case " ${NODE_OPTIONS-} " in
    *--max-semi-space-size*|*--max_semi_space_size*) ;;
    *) NODE_OPTIONS="${NODE_OPTIONS:+$NODE_OPTIONS }--max-semi-space-size=$young"; export NODE_OPTIONS ;;
  esac
fi
exec node "$(dirname "$0")/dist/cli/main.js" "$@"
