#!/bin/sh
# Generates ./configure and Makefile.in.  Then: ./configure && make
set -e
cd "$(dirname "$0")"
exec autoreconf -fi "$@"
