#!/usr/bin/env bash
# TODO(fuzz helper): build the fuzz preset and run each harness via bench/fuzz.sh.
exit 0
