// The layering gate's probe (tests/layering/CMakeLists.txt): compiled with one framework layer's include
// path, it includes QF_PROBE_HEADER, a header that layer may (the build must pass) or must not (the build
// must fail with "No such file") reach.
#include QF_PROBE_HEADER

int qf_layering_probe() { return 0; }
