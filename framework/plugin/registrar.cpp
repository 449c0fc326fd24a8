// Registration through the C QfRegistrar: checks and copies of the plugin's tables.
#include "plugin/registrar.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "util/error.hpp"

namespace qf::plugin {

bool valid_component_name(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  if (!((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= '0' && name[0] <= '9'))) return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.')) return false;
  return true;
}

namespace {

bool valid_param_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

void write_message(QfMessage* msg, const std::string& text) {
  if (!msg || !msg->data || msg->capacity == 0) return;
  const size_t n = std::min(text.size(), msg->capacity - 1);
  std::memcpy(msg->data, text.data(), n);
  msg->data[n] = '\0';
}

// Size of a table up to and including `last`: what the ABI version that introduced `last` requires.
#define QF_SIZE_THROUGH(Desc, last) (offsetof(Desc, last) + sizeof(((Desc*)nullptr)->last))

// The ABI 1.5 tail of one declaration, when the plugin's element reaches it.
std::string read_param_tail(const std::string& who, const QfParamDesc& d, size_t stride, ParamSpec& s,
                            const std::vector<ParamSpec>& earlier) {
  if (stride < QF_SIZE_THROUGH(QfParamDesc, min_param)) return {};
  if (d.flags & ~QF_PARAM_RAISE_TO_MIN)
    return who + ": parameter '" + s.name + "' has unknown flags " + std::to_string(d.flags);
  s.raise_to_min = (d.flags & QF_PARAM_RAISE_TO_MIN) != 0;
  if (s.raise_to_min && !s.has_min)
    return who + ": parameter '" + s.name + "' is QF_PARAM_RAISE_TO_MIN without a minimum";
  if (!d.min_param) return {};
  s.min_param = d.min_param;
  const auto floor =
      std::find_if(earlier.begin(), earlier.end(), [&](const ParamSpec& p) { return p.name == s.min_param; });
  if (!s.raise_to_min || floor == earlier.end() || (floor->type != QF_PARAM_INT && floor->type != QF_PARAM_FLOAT))
    return who + ": parameter '" + s.name + "': min_param '" + s.min_param +
           "' must name an int or float parameter declared earlier, with QF_PARAM_RAISE_TO_MIN set";
  return {};
}

// One declaration as the host keeps it; an error text when it is malformed.
std::string read_param(const std::string& who, const QfParamDesc& d, size_t stride,
                       const std::vector<ParamSpec>& earlier, ParamSpec& s) {
  s.name = d.name ? d.name : "";
  if (!valid_param_name(s.name)) return who + ": parameter name '" + s.name + "' is invalid (lowercase [a-z0-9_])";
  for (const ParamSpec& prev : earlier)
    if (prev.name == s.name) return who + ": parameter '" + s.name + "' declared twice";
  s.type = d.type;
  if (s.type < QF_PARAM_BOOL || s.type > QF_PARAM_STRING)
    return who + ": parameter '" + s.name + "' has unknown type " + std::to_string(s.type);
  if (d.default_value.type != s.type)
    return who + ": parameter '" + s.name + "' default is not of its type " + param_type_name(s.type);
  s.default_value.type = s.type;
  s.default_value.bool_value = d.default_value.bool_value != 0;
  s.default_value.int_value = d.default_value.int_value;
  s.default_value.float_value = d.default_value.float_value;
  s.default_value.string_value = d.default_value.string_value ? d.default_value.string_value : "";
  s.has_min = d.has_min != 0 && (s.type == QF_PARAM_INT || s.type == QF_PARAM_FLOAT);
  s.has_max = d.has_max != 0 && (s.type == QF_PARAM_INT || s.type == QF_PARAM_FLOAT);
  s.min_value = d.min_value;
  s.max_value = d.max_value;
  if (s.type == QF_PARAM_STRING && d.choices) s.choices = split_list(d.choices, '|');
  s.help = d.help ? d.help : "";
  return read_param_tail(who, d, stride, s, earlier);
}

// The default must pass the component's own rules.
std::string check_default(const std::string& who, const ParamSpec& p) {
  const double dv =
      p.type == QF_PARAM_INT ? static_cast<double>(p.default_value.int_value) : p.default_value.float_value;
  if ((p.type == QF_PARAM_INT || p.type == QF_PARAM_FLOAT) &&
      ((p.has_min && dv < p.min_value) || (p.has_max && dv > p.max_value)))
    return who + ": parameter '" + p.name + "' default " + format_param_number(dv) + " is outside its range";
  if (p.type == QF_PARAM_STRING && !p.choices.empty() &&
      std::find(p.choices.begin(), p.choices.end(), p.default_value.string_value) == p.choices.end())
    return who + ": parameter '" + p.name + "' default '" + p.default_value.string_value +
           "' is not one of its choices";
  return {};
}

// Validates the declared parameters. The array is walked with the plugin's element size (params[0].struct_size),
// never sizeof(QfParamDesc): a plugin built against an older minor has shorter elements, a newer host's
// QfParamDesc a longer one. Only the ABI 1.0 fields are required.
std::string convert_params(const std::string& who, const QfParamDesc* params, size_t n, std::vector<ParamSpec>& out) {
  if (n > 0 && !params) return who + ": num_params is " + std::to_string(n) + " but params is null";
  const size_t stride = n > 0 ? params[0].struct_size : 0;
  if (n > 0 && stride < QF_SIZE_THROUGH(QfParamDesc, help))
    return who + ": QfParamDesc struct_size " + std::to_string(stride) + " is too small";
  for (size_t i = 0; i < n; ++i) {
    const auto& d = *reinterpret_cast<const QfParamDesc*>(reinterpret_cast<const char*>(params) + i * stride);
    ParamSpec s;
    if (std::string e = read_param(who, d, stride, out, s); !e.empty()) return e;
    out.push_back(std::move(s));
    if (std::string e = check_default(who, out.back()); !e.empty()) return e;
  }
  return {};
}

struct RegistrarState {
  const Registry* registry = nullptr;
  std::shared_ptr<const LibraryInfo> library;
  std::vector<Component> pending;
  std::string error;  // first refusal, reported even if the plugin ignores the status

  QfStatus refuse(QfMessage* msg, const std::string& text) {
    if (error.empty()) error = text;
    write_message(msg, text);
    return QF_STATUS_INVALID_ARGUMENT;
  }
  std::string who(Kind kind, const char* name) const {
    return std::string(kind_name(kind)) + " '" + (name ? name : "") + "' (" + library->path.filename().string() + ")";
  }

  // Copies the plugin's table into the host's layout; the plugin's may be shorter (older minor).
  template <class Desc>
  static Desc copy_desc(const Desc* src) {
    Desc dst{};
    std::memcpy(&dst, src, std::min<size_t>(src->struct_size, sizeof(Desc)));
    return dst;
  }

  // An error text when the name is malformed or already taken.
  std::string check_name(Kind kind, const std::string& name) const {
    const std::string lib = library->path.filename().string();
    if (!valid_component_name(name))
      return std::string(kind_name(kind)) + " name '" + name + "' in " + lib +
             " is invalid (lowercase letters, digits, '_', '-', '.'; third parties use a dotted prefix)";
    if (const Component* other = registry->try_find(kind, name))
      return std::string("duplicate ") + kind_name(kind) + " '" + name + "': registered by " +
             other->library->path.string() + " and by " + library->path.string();
    for (const Component& p : pending)
      if (p.kind == kind && p.name == name)
        return std::string("duplicate ") + kind_name(kind) + " '" + name + "': registered twice by " +
               library->path.string();
    return {};
  }

  template <class Desc>
  QfStatus add(Kind kind, const Desc* desc, size_t required_size, QfMessage* msg, Component& c) {
    if (!desc) return refuse(msg, std::string("null ") + kind_name(kind) + " table");
    const std::string name = desc->struct_size >= QF_SIZE_THROUGH(Desc, name) && desc->name ? desc->name : "";
    const std::string who = this->who(kind, name.c_str());
    if (desc->struct_size < required_size)
      return refuse(msg, who + ": table struct_size " + std::to_string(desc->struct_size) + " is smaller than the " +
                             std::to_string(required_size) + " bytes ABI 1.0 requires");
    if (std::string e = check_name(kind, name); !e.empty()) return refuse(msg, e);
    c.kind = kind;
    c.name = name;
    c.help = desc->help ? desc->help : "";
    c.library = library;
    if (std::string e = convert_params(who, desc->params, desc->num_params, c.params); !e.empty())
      return refuse(msg, e);
    return QF_STATUS_OK;
  }
};

RegistrarState& state_of(QfRegistrar* r) { return *static_cast<RegistrarState*>(r->host_data); }

// Adds one component unless `missing` (a required function is null) or the common checks refuse it.
template <class Desc, class Fn>
QfStatus add_component(QfRegistrar* r, Kind kind, const Desc* desc, size_t required_size, bool missing, QfMessage* msg,
                       Fn&& store) {
  RegistrarState& st = state_of(r);
  if (desc && desc->struct_size >= required_size && missing)
    return st.refuse(msg, st.who(kind, desc->name) + ": a required function is null");
  Component c;
  if (QfStatus s = st.add(kind, desc, required_size, msg, c); s != QF_STATUS_OK) return s;
  store(c, RegistrarState::copy_desc(desc));
  st.pending.push_back(std::move(c));
  return QF_STATUS_OK;
}

QfStatus add_calibrator(QfRegistrar* r, const QfCalibratorDesc* d, QfMessage* msg) {
  const bool missing = d && (!d->create || !d->destroy || !d->observe || !d->merge || !d->compute_range);
  // ABI 1.8 tail: the histogram entries come together, and only with the first pass's ranges.
  if (d && d->struct_size >= QF_SIZE_THROUGH(QfCalibratorDesc, range_from_histogram) &&
      (!d->histogram_bins != !d->range_from_histogram || (d->range_from_histogram && !d->needs_global_range)))
    return state_of(r).refuse(msg, state_of(r).who(Kind::Calibrator, d->name) +
                                       ": histogram_bins and range_from_histogram come together, with "
                                       "needs_global_range set");
  return add_component(r, Kind::Calibrator, d, QF_SIZE_THROUGH(QfCalibratorDesc, compute_range), missing, msg,
                       [](Component& c, const QfCalibratorDesc& x) { c.calibrator = x; });
}
bool known_aggregation(QfAggregation a) {
  return a == QF_AGGREGATE_MEAN || a == QF_AGGREGATE_MAX || a == QF_AGGREGATE_MIN || a == QF_AGGREGATE_POOLED;
}
QfStatus add_metric(QfRegistrar* r, const QfMetricDesc* d, QfMessage* msg) {
  constexpr size_t required = QF_SIZE_THROUGH(QfMetricDesc, compute);
  if (d && d->struct_size >= required && d->create && d->destroy && d->compute && !known_aggregation(d->aggregation))
    return state_of(r).refuse(
        msg, state_of(r).who(Kind::Metric, d->name) + ": unknown aggregation " + std::to_string(d->aggregation));
  const bool missing = d && (!d->create || !d->destroy || !d->compute);
  return add_component(r, Kind::Metric, d, required, missing, msg,
                       [](Component& c, const QfMetricDesc& x) { c.metric = x; });
}
QfStatus add_search(QfRegistrar* r, const QfSearchDesc* d, QfMessage* msg) {
  const bool missing = d && (!d->create || !d->destroy || !d->run);
  return add_component(r, Kind::Search, d, QF_SIZE_THROUGH(QfSearchDesc, run), missing, msg,
                       [](Component& c, const QfSearchDesc& x) { c.search = x; });
}
QfStatus add_backend(QfRegistrar* r, const QfBackendDesc* d, QfMessage* msg) {
  const bool missing = d && (!d->create || !d->destroy || !d->analyze_node);
  return add_component(r, Kind::Backend, d, QF_SIZE_THROUGH(QfBackendDesc, fusion_groups), missing, msg,
                       [](Component& c, const QfBackendDesc& x) { c.backend = x; });
}
QfStatus add_weight_rounding(QfRegistrar* r, const QfWeightRoundingDesc* d, QfMessage* msg) {
  const bool missing = d && (!d->create || !d->destroy || !d->round);
  return add_component(r, Kind::WeightRounding, d, QF_SIZE_THROUGH(QfWeightRoundingDesc, round), missing, msg,
                       [](Component& c, const QfWeightRoundingDesc& x) { c.weight_rounding = x; });
}
QfStatus add_transform(QfRegistrar* r, const QfTransformDesc* d, QfMessage* msg) {
  const bool missing = d && (!d->create || !d->destroy || !d->apply);
  return add_component(r, Kind::Transform, d, QF_SIZE_THROUGH(QfTransformDesc, apply), missing, msg,
                       [](Component& c, const QfTransformDesc& x) { c.transform = x; });
}

}  // namespace

std::vector<Component> register_library(const Registry& registry, const OpenedLibrary& lib) {
  const std::string path = lib.info->path.string();
  RegistrarState state;
  state.registry = &registry;
  state.library = lib.info;
  QfRegistrar registrar{sizeof(QfRegistrar), &state,       &add_calibrator,      &add_metric,
                        &add_search,         &add_backend, &add_weight_rounding, &add_transform};
  char buf[2048] = {0};
  QfMessage msg{buf, sizeof buf};
  QfStatus status = QF_STATUS_OK;
  try {
    status = lib.plugin->register_fn(&registrar, lib.host, &msg);
  } catch (...) {
    // A C++ plugin without the SDK layer let an exception escape: report it rather than crash.
    throw Error("plugin library " + path + ": registration threw an exception across the C ABI");
  }
  std::string error = state.error;
  if (error.empty() && status != QF_STATUS_OK)
    error = "plugin library " + path + ": registration failed (" + status_name(status) + ")" +
            (buf[0] ? std::string(": ") + buf : std::string());
  if (!error.empty()) {
    std::replace(error.begin(), error.end(), '\n', ' ');
    throw Error(error);
  }
  for (const Component& c : state.pending)
    spdlog::debug("plugin {}: {} '{}'", lib.info->path.filename().string(), kind_name(c.kind), c.name);
  return std::move(state.pending);
}

}  // namespace qf::plugin
