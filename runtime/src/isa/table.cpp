//===- table.cpp - This ISA's entry points, as one table -----------------===//
#include "isa.h"

namespace ditc_rt {
namespace DITC_RT_ISA_NS {

extern const IsaTable table;
const IsaTable table = {
    DITC_RT_ISA_STR(DITC_RT_ISA_NS),
#define DITC_RT_ISA_ENTRY(fn) &fn,
#include "../isa_entries.def"
};

} // namespace DITC_RT_ISA_NS
} // namespace ditc_rt
