//===- WireIndex.cpp - locate tensor payloads in an .onnx file ------------===//

#include "lib/Importer/Onnx/WireIndex.h"

#include <functional>

using namespace mlir::ditc::onnx_import;

namespace {
struct Field {
  uint32_t number;
  uint32_t wireType;
  uint64_t varint;    // wire type 0
  uint64_t offset;    // payload offset from the start of the file (type 2)
  uint64_t size;      // payload size (type 2)
};

/// Walks the fields of one message in bytes[begin, end).
bool forEachField(llvm::StringRef bytes, uint64_t begin, uint64_t end,
                  const std::function<bool(const Field &)> &fn) {
  const auto *p = reinterpret_cast<const uint8_t *>(bytes.data());
  uint64_t pos = begin;
  auto readVarint = [&](uint64_t &out) {
    out = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos >= end)
        return false;
      uint8_t c = p[pos++];
      out |= uint64_t(c & 0x7f) << shift;
      if (!(c & 0x80))
        return true;
    }
    return false;
  };
  while (pos < end) {
    uint64_t key;
    if (!readVarint(key))
      return false;
    Field f{uint32_t(key >> 3), uint32_t(key & 7), 0, 0, 0};
    switch (f.wireType) {
    case 0:
      if (!readVarint(f.varint))
        return false;
      break;
    case 1:
      if (end - pos < 8)
        return false;
      pos += 8;
      break;
    case 5:
      if (end - pos < 4)
        return false;
      pos += 4;
      break;
    case 2: {
      uint64_t len;
      if (!readVarint(len) || len > end - pos)
        return false;
      f.offset = pos;
      f.size = len;
      pos += len;
      break;
    }
    default:
      return false;
    }
    if (!fn(f))
      return false;
  }
  return pos == end;
}

/// The payload of a TensorProto, when it is stored as contiguous bytes.
bool scanTensor(llvm::StringRef bytes, const Field &t,
                std::optional<PayloadLocation> &out) {
  bool sawRaw = false;
  return forEachField(bytes, t.offset, t.offset + t.size, [&](const Field &f) {
    // raw_data = 9 (which readers prefer); packed float_data = 4 and
    // double_data = 10.
    if (f.wireType == 2 && f.number == 9)
      out = PayloadLocation{f.offset, f.size}, sawRaw = true;
    else if (f.wireType == 2 && (f.number == 4 || f.number == 10) && !sawRaw)
      out = PayloadLocation{f.offset, f.size};
    return true;
  });
}
} // namespace

bool mlir::ditc::onnx_import::scanWireIndex(llvm::StringRef bytes,
                                            WireIndex &index) {
  // A graph field may appear more than once (protobuf merges the parts), so
  // node numbers run on across the parts.
  int node = 0;
  return forEachField(bytes, 0, bytes.size(), [&](const Field &model) {
    if (model.number != 7 || model.wireType != 2) // ModelProto.graph
      return true;
    return forEachField(
        bytes, model.offset, model.offset + model.size, [&](const Field &g) {
          if (g.wireType != 2)
            return true;
          if (g.number == 5) { // GraphProto.initializer
            std::optional<PayloadLocation> loc;
            if (!scanTensor(bytes, g, loc))
              return false;
            index.initializers.push_back(loc);
          } else if (g.number == 1) { // GraphProto.node
            int attrIndex = 0;
            bool ok = forEachField(
                bytes, g.offset, g.offset + g.size, [&](const Field &n) {
                  if (n.number != 5 || n.wireType != 2) // NodeProto.attribute
                    return true;
                  int a = attrIndex++;
                  return forEachField(
                      bytes, n.offset, n.offset + n.size, [&](const Field &at) {
                        if (at.number == 5 && at.wireType == 2) { // .t
                          std::optional<PayloadLocation> loc;
                          if (!scanTensor(bytes, at, loc))
                            return false;
                          if (loc)
                            index.nodeTensors[{node, a}] = *loc;
                        }
                        return true;
                      });
                });
            ++node;
            return ok;
          }
          return true;
        });
  });
}
