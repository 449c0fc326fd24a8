#include "pipeline/allowed_dtype.hpp"

#include <array>

#include "quant/qf_dtype.hpp"

namespace qf::pipeline {

bool only_unsigned(quant::QType t, uint32_t mask) {
  if (mask == 0) return false;
  if (t == quant::QType::Int8 || t == quant::QType::Int16Ec)
    return !(mask & QF_DTYPE_MASK(QF_DTYPE_INT8)) && (mask & QF_DTYPE_MASK(QF_DTYPE_UINT8));
  if (t == quant::QType::Int16)
    return !(mask & QF_DTYPE_MASK(QF_DTYPE_INT16)) && (mask & QF_DTYPE_MASK(QF_DTYPE_UINT16));
  return false;
}

uint32_t signed_view(uint32_t mask) {
  if (mask & QF_DTYPE_MASK(QF_DTYPE_UINT8)) mask |= QF_DTYPE_MASK(QF_DTYPE_INT8);
  if (mask & QF_DTYPE_MASK(QF_DTYPE_UINT16)) mask |= QF_DTYPE_MASK(QF_DTYPE_INT16);
  return mask;
}

quant::QType allowed_dtype(quant::QType wanted, uint32_t mask, bool int16_ec) {
  mask = signed_view(mask);
  if (wanted == quant::QType::Int16Ec) {
    if (mask == 0 || (mask & QF_DTYPE_MASK(QF_DTYPE_INT16))) return quant::QType::Int16;
    if (int16_ec && (mask & QF_DTYPE_MASK(QF_DTYPE_INT8))) return quant::QType::Int16Ec;
    wanted = quant::QType::Int16;
  }
  if (mask == 0 || (mask & quant::qf_mask_of(wanted))) return wanted;
  static constexpr std::array<quant::QType, 4> order = {quant::QType::Int8, quant::QType::Int16, quant::QType::Float16,
                                                        quant::QType::Float32};
  size_t at = 0;
  while (order[at] != wanted) ++at;
  for (size_t i = at + 1; i < order.size(); ++i)
    if (mask & quant::qf_mask_of(order[i])) return order[i];
  for (size_t i = at; i-- > 0;)
    if (mask & quant::qf_mask_of(order[i])) return order[i];
  return quant::QType::Float32;
}

}  // namespace qf::pipeline
