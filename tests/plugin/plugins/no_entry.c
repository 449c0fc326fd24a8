/* Test plugin: a shared library without qf_plugin_info. */
#include <qforge/qf_plugin.h>

QF_PLUGIN_EXPORT int not_a_quantforge_plugin(void) { return 42; }
