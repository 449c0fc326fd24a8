// Host callbacks that plugins call through the C ABI (the search and transform contexts): nothing may cross
// the C boundary, so an exception becomes a status and its message in the plugin's buffer.
#pragma once

#include <qforge/qf_plugin.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <string>

#include "util/error.hpp"

namespace qf::plugin {

// Copies `text` into the plugin's message buffer, cut to its capacity (nothing when there is none).
inline void write_message(QfMessage* msg, const std::string& text) {
  if (!msg || !msg->data || msg->capacity == 0) return;
  const size_t n = std::min(text.size(), msg->capacity - 1);
  std::memcpy(msg->data, text.data(), n);
  msg->data[n] = '\0';
}

// Runs `f` for the plugin: QF_STATUS_OK, or the error's status (a qf::Error, which names what the plugin
// passed, is QF_STATUS_INVALID_ARGUMENT; anything else QF_STATUS_ERROR) with its message.
template <class F>
QfStatus guarded(QfMessage* msg, F&& f) {
  try {
    f();
    return QF_STATUS_OK;
  } catch (const Error& e) {
    write_message(msg, e.what());
    return QF_STATUS_INVALID_ARGUMENT;
  } catch (const std::exception& e) {
    write_message(msg, e.what());
    return QF_STATUS_ERROR;
  }
}

}  // namespace qf::plugin
