// Conversions between quant::QType and the plugin ABI's QfDType numbering (qf_plugin.h). Names: the SDK's
// qf::dtype_name / qf::dtype_from_name (qf_plugin.hpp) are the one dtype vocabulary; quant::qtype_name agrees
// with them on every name a QType shares with a QfDType.
#pragma once

#include <qforge/qf_plugin.hpp>

#include <optional>

#include "quant/quant_math.hpp"

namespace qf::quant {

// The activation QType of a QfDType (what a search or a backend may assign); nullopt for the others, among
// them the weight-only int4 / uint4.
inline std::optional<QType> qtype_from_qf(QfDType d) {
  switch (d) {
    case QF_DTYPE_INT8: return QType::Int8;
    case QF_DTYPE_INT16: return QType::Int16;
    case QF_DTYPE_FLOAT16: return QType::Float16;
    case QF_DTYPE_FLOAT32: return QType::Float32;
    default: return std::nullopt;
  }
}

// Int16Ec has no QfDType of its own: a search (and a calibrator choosing thresholds) sees the precision
// it reaches, int16.
inline QfDType qf_dtype_of(QType t) {
  switch (t) {
    case QType::Int8: return QF_DTYPE_INT8;
    case QType::Int16:
    case QType::Int16Ec: return QF_DTYPE_INT16;
    case QType::Float16: return QF_DTYPE_FLOAT16;
    case QType::Float32: return QF_DTYPE_FLOAT32;
    case QType::Int4: return QF_DTYPE_INT4;
    case QType::UInt4: return QF_DTYPE_UINT4;
  }
  return QF_DTYPE_UNDEFINED;
}

// The backend mask bit a dtype needs: Int16Ec runs on int8 hardware (two int8 products), so an input a
// backend allows only in int8 admits it (whether the backend offers compensation is a separate bit,
// QF_COMPENSATION_INT16_EC).
inline uint32_t qf_mask_of(QType t) {
  return t == QType::Int16Ec ? QF_DTYPE_MASK(QF_DTYPE_INT8) : QF_DTYPE_MASK(qf_dtype_of(t));
}

}  // namespace qf::quant
