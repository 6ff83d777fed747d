//===- Npz.h - reading and writing numpy .npy / .npz files ------*- C++ -*-===//
//
// Just enough of numpy's file formats for `ditc run`: .npz archives as
// numpy.savez writes them (a ZIP of stored, i.e. uncompressed, .npy entries,
// ZIP64 headers included) and the .npy format versions 1.0, 2.0 and 3.0 with
// little-endian, C-order arrays of the dtypes a ditc model takes.
//
// Every reader returns false with a one-line message in `error` on malformed
// input (truncated files, bad magic, headers that do not parse, sizes that do
// not add up); none of them trusts a length it read from the file.
//
//===----------------------------------------------------------------------===//

#ifndef DITC_LIB_DRIVER_NPZ_H
#define DITC_LIB_DRIVER_NPZ_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mlir::ditc::npz {

/// The element types numpy arrays may have here. The values are those of
/// ditc_dtype in include/ditc/runtime/ditc_model.h (numpy has no bfloat16).
enum class DType : int32_t {
  F32 = 0,  // '<f4'
  I64 = 1,  // '<i8'
  I32 = 2,  // '<i4'
  Bool = 3, // '|b1'
  F16 = 4,  // '<f2'
  F64 = 6,  // '<f8'
  I8 = 7,   // '|i1'
  U8 = 8,   // '|u1'
  I16 = 9,  // '<i2'
  U16 = 10, // '<u2'
  U32 = 11, // '<u4'
  U64 = 12, // '<u8'
};

/// Bytes per element.
size_t dtypeSize(DType t);
/// numpy's name: "float32", "int64", "bool", ...
const char *dtypeName(DType t);
/// The .npy 'descr': "<f4", "|b1", ...
const char *dtypeDescr(DType t);
/// Parses a 'descr'; false for anything else (big-endian, structured, ...).
bool parseDescr(llvm::StringRef descr, DType &t);
/// The ditc_dtype code `code` as a DType; false for codes numpy cannot hold
/// (bfloat16) or unknown codes.
bool dtypeFromCode(int32_t code, DType &t);

/// Formats a shape as numpy prints it: "()", "(5,)", "(2, 3)".
std::string formatShape(llvm::ArrayRef<int64_t> shape);

/// One array: a dense, C-order, little-endian buffer.
struct Array {
  std::string name; // the key in the .npz (the entry name without ".npy")
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> data; // numElements() * dtypeSize(dtype) bytes

  /// The element count, or -1 if it overflows.
  int64_t numElements() const;
};

/// Parses one .npy file held in `bytes` (name is left empty).
bool parseNpy(llvm::ArrayRef<uint8_t> bytes, Array &out, std::string &error);
/// Serialises `a` as .npy (version 1.0, or 2.0 when the header needs it).
std::vector<uint8_t> serializeNpy(const Array &a);

/// Parses a .npz archive held in `bytes`; `fileName` only names the file in
/// messages. The arrays come in the archive's order.
bool parseNpz(llvm::ArrayRef<uint8_t> bytes, llvm::StringRef fileName,
              std::vector<Array> &out, std::string &error);
/// Reads a .npz file.
bool readNpz(llvm::StringRef path, std::vector<Array> &out, std::string &error);

struct WriteOptions {
  /// Give every entry ZIP64 extra fields as numpy.savez does (they are
  /// written anyway where a size or offset needs them).
  bool forceZip64 = false;
};

/// Serialises `arrays` as a .npz archive (stored entries "<name>.npy").
std::vector<uint8_t> serializeNpz(llvm::ArrayRef<Array> arrays,
                                  const WriteOptions &options = {});
/// Writes a .npz file.
bool writeNpz(llvm::StringRef path, llvm::ArrayRef<Array> arrays,
              std::string &error, const WriteOptions &options = {});

} // namespace mlir::ditc::npz

#endif // DITC_LIB_DRIVER_NPZ_H
