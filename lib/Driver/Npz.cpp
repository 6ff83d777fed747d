//===- Npz.cpp - reading and writing numpy .npy / .npz files --------------===//
//
// The .npz reader walks the ZIP central directory (so sizes written after the
// data, in data descriptors, are no problem), follows each entry to its local
// header and takes the stored bytes, checking the CRC-32. The .npy header is
// a Python dict literal; a small parser reads exactly the three keys numpy
// writes. Every offset and length read from a file is checked against the
// bytes present before it is used.
//
// References: PKWARE APPNOTE.TXT 6.3 (sections 4.3, 4.4, 4.5.3) and numpy's
// numpy/lib/format.py.
//
//===----------------------------------------------------------------------===//

#include "lib/Driver/Npz.h"

#include "llvm/Support/CRC.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <cstring>
#include <limits>
#include <set>

using namespace llvm;

namespace mlir::ditc::npz {

//===----------------------------------------------------------------------===//
// dtypes and shapes
//===----------------------------------------------------------------------===//

namespace {
struct DTypeEntry {
  DType type;
  const char *descr;
  const char *name;
  size_t size;
};
const DTypeEntry kDTypes[] = {
    {DType::F32, "<f4", "float32", 4}, {DType::I64, "<i8", "int64", 8},
    {DType::I32, "<i4", "int32", 4},   {DType::Bool, "|b1", "bool", 1},
    {DType::F16, "<f2", "float16", 2}, {DType::F64, "<f8", "float64", 8},
    {DType::I8, "|i1", "int8", 1},     {DType::U8, "|u1", "uint8", 1},
    {DType::I16, "<i2", "int16", 2},   {DType::U16, "<u2", "uint16", 2},
    {DType::U32, "<u4", "uint32", 4},  {DType::U64, "<u8", "uint64", 8},
};
const DTypeEntry &entryOf(DType t) {
  for (const DTypeEntry &e : kDTypes)
    if (e.type == t)
      return e;
  return kDTypes[0];
}
} // namespace

size_t dtypeSize(DType t) { return entryOf(t).size; }
const char *dtypeName(DType t) { return entryOf(t).name; }
const char *dtypeDescr(DType t) { return entryOf(t).descr; }

bool parseDescr(StringRef descr, DType &t) {
  for (const DTypeEntry &e : kDTypes)
    if (descr == e.descr) {
      t = e.type;
      return true;
    }
  // numpy writes '|' for one-byte types but '<' and '=' mean the same there
  // and on this (little-endian) host.
  if (descr.size() == 3 && (descr[0] == '<' || descr[0] == '=')) {
    std::string alt = descr.str();
    alt[0] = descr.drop_front() == "b1" || descr.drop_front() == "i1" ||
                     descr.drop_front() == "u1"
                 ? '|'
                 : '<';
    for (const DTypeEntry &e : kDTypes)
      if (alt == e.descr) {
        t = e.type;
        return true;
      }
  }
  return false;
}

bool dtypeFromCode(int32_t code, DType &t) {
  for (const DTypeEntry &e : kDTypes)
    if (static_cast<int32_t>(e.type) == code) {
      t = e.type;
      return true;
    }
  return false;
}

std::string formatShape(ArrayRef<int64_t> shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i)
      s += ", ";
    s += std::to_string(shape[i]);
  }
  if (shape.size() == 1)
    s += ",";
  return s + ")";
}

int64_t Array::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0)
      return -1;
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d)
      return -1;
    n *= d;
  }
  return n;
}

//===----------------------------------------------------------------------===//
// .npy
//===----------------------------------------------------------------------===//

namespace {

const char kNpyMagic[] = "\x93NUMPY";

/// A parser for the Python dict literal of a .npy header, e.g.
///   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
class HeaderParser {
public:
  explicit HeaderParser(StringRef text) : s(text) {}

  bool parse(std::string &descr, bool &fortran, std::vector<int64_t> &shape,
             std::string &error) {
    bool haveDescr = false, haveFortran = false, haveShape = false;
    skipSpace();
    if (!consume('{'))
      return fail("the header is not a dict", error);
    while (true) {
      skipSpace();
      if (consume('}'))
        break;
      std::string key;
      if (!parseString(key))
        return fail("expected a quoted key in the header", error);
      skipSpace();
      if (!consume(':'))
        return fail("expected ':' after '" + key + "' in the header", error);
      skipSpace();
      if (key == "descr") {
        if (peek() == '[')
          return fail("structured dtypes are not supported", error);
        if (!parseString(descr))
          return fail("'descr' is not a string", error);
        haveDescr = true;
      } else if (key == "fortran_order") {
        if (s.substr(pos).starts_with("True")) {
          fortran = true;
          pos += 4;
        } else if (s.substr(pos).starts_with("False")) {
          fortran = false;
          pos += 5;
        } else {
          return fail("'fortran_order' is not True or False", error);
        }
        haveFortran = true;
      } else if (key == "shape") {
        if (!parseShape(shape))
          return fail("'shape' is not a tuple of non-negative integers", error);
        haveShape = true;
      } else {
        return fail("unexpected key '" + key + "' in the header", error);
      }
      skipSpace();
      if (consume(','))
        continue;
      skipSpace();
      if (consume('}'))
        break;
      return fail("expected ',' or '}' in the header", error);
    }
    skipSpace();
    if (pos != s.size())
      return fail("unexpected text after the header dict", error);
    if (!haveDescr || !haveFortran || !haveShape)
      return fail("the header lacks 'descr', 'fortran_order' or 'shape'", error);
    return true;
  }

private:
  StringRef s;
  size_t pos = 0;

  static bool fail(const std::string &msg, std::string &error) {
    error = msg;
    return false;
  }
  char peek() const { return pos < s.size() ? s[pos] : '\0'; }
  bool consume(char c) {
    if (peek() != c)
      return false;
    ++pos;
    return true;
  }
  void skipSpace() {
    while (pos < s.size() &&
           (s[pos] == ' ' || s[pos] == '\t' || s[pos] == '\n' || s[pos] == '\r'))
      ++pos;
  }
  bool parseString(std::string &out) {
    char q = peek();
    if (q != '\'' && q != '"')
      return false;
    size_t end = s.find(q, pos + 1);
    if (end == StringRef::npos)
      return false;
    out = s.slice(pos + 1, end).str();
    pos = end + 1;
    return true;
  }
  bool parseShape(std::vector<int64_t> &shape) {
    shape.clear();
    if (!consume('('))
      return false;
    while (true) {
      skipSpace();
      if (consume(')'))
        return true;
      if (pos >= s.size() || s[pos] < '0' || s[pos] > '9')
        return false;
      uint64_t v = 0;
      while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
        if (v > (uint64_t)std::numeric_limits<int64_t>::max() / 10)
          return false;
        v = v * 10 + (s[pos++] - '0');
        if (v > (uint64_t)std::numeric_limits<int64_t>::max())
          return false;
      }
      consume('L'); // Python 2 longs
      shape.push_back((int64_t)v);
      skipSpace();
      if (consume(','))
        continue;
      skipSpace();
      if (consume(')'))
        return true;
      return false;
    }
  }
};

uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
uint32_t rd32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
         ((uint32_t)p[3] << 24);
}
uint64_t rd64(const uint8_t *p) {
  return (uint64_t)rd32(p) | ((uint64_t)rd32(p + 4) << 32);
}

void put16(std::vector<uint8_t> &b, uint16_t v) {
  b.push_back(v & 0xff);
  b.push_back(v >> 8);
}
void put32(std::vector<uint8_t> &b, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    b.push_back((v >> (8 * i)) & 0xff);
}
void put64(std::vector<uint8_t> &b, uint64_t v) {
  for (int i = 0; i < 8; ++i)
    b.push_back((v >> (8 * i)) & 0xff);
}

} // namespace

bool parseNpy(ArrayRef<uint8_t> bytes, Array &out, std::string &error) {
  if (bytes.size() < 10 || std::memcmp(bytes.data(), kNpyMagic, 6) != 0) {
    error = bytes.size() < 10 && bytes.size() >= 6 &&
                    std::memcmp(bytes.data(), kNpyMagic, 6) == 0
                ? "truncated .npy header"
                : "not a .npy array (bad magic)";
    return false;
  }
  uint8_t major = bytes[6], minor = bytes[7];
  size_t headerStart;
  uint64_t headerLen;
  if (major == 1 && minor == 0) {
    headerLen = rd16(bytes.data() + 8);
    headerStart = 10;
  } else if ((major == 2 || major == 3) && minor == 0) {
    if (bytes.size() < 12) {
      error = "truncated .npy header";
      return false;
    }
    headerLen = rd32(bytes.data() + 8);
    headerStart = 12;
  } else {
    error = "unsupported .npy format version " + std::to_string(major) + "." +
            std::to_string(minor);
    return false;
  }
  if (headerLen > bytes.size() - headerStart) {
    error = "the .npy header is " + std::to_string(headerLen) +
            " bytes long but only " + std::to_string(bytes.size() - headerStart) +
            " bytes follow (truncated?)";
    return false;
  }
  StringRef header(reinterpret_cast<const char *>(bytes.data() + headerStart),
                   headerLen);
  std::string descr;
  bool fortran = false;
  std::vector<int64_t> shape;
  std::string why;
  if (!HeaderParser(header).parse(descr, fortran, shape, why)) {
    error = "bad .npy header: " + why;
    return false;
  }
  DType t;
  if (!parseDescr(descr, t)) {
    error = "unsupported dtype '" + descr +
            "' (supported: <f4 <f8 <f2 <i8 <i4 <i2 |i1 <u8 <u4 <u2 |u1 |b1)";
    return false;
  }
  if (fortran) {
    error = "Fortran-order arrays are not supported (fortran_order is True)";
    return false;
  }
  out.dtype = t;
  out.shape = std::move(shape);
  int64_t n = out.numElements();
  uint64_t need = 0;
  if (n < 0 || (uint64_t)n > std::numeric_limits<uint64_t>::max() / dtypeSize(t)) {
    error = "shape " + formatShape(out.shape) + " is too large";
    return false;
  }
  need = (uint64_t)n * dtypeSize(t);
  uint64_t have = bytes.size() - headerStart - headerLen;
  if (have != need) {
    error = "shape " + formatShape(out.shape) + " of " + dtypeName(t) +
            " needs " + std::to_string(need) + " data bytes, the array has " +
            std::to_string(have);
    return false;
  }
  const uint8_t *data = bytes.data() + headerStart + headerLen;
  out.data.assign(data, data + need);
  return true;
}

std::vector<uint8_t> serializeNpy(const Array &a) {
  std::string dict = std::string("{'descr': '") + dtypeDescr(a.dtype) +
                     "', 'fortran_order': False, 'shape': " +
                     formatShape(a.shape) + ", }";
  // Pad with spaces and a final newline so that the data starts at a
  // multiple of 64 bytes, as numpy does.
  auto padded = [&](size_t prefix) {
    std::string h = dict;
    size_t total = prefix + h.size() + 1;
    h.append((64 - total % 64) % 64, ' ');
    h += '\n';
    return h;
  };
  std::string h = padded(10);
  bool v2 = h.size() > 0xffff;
  if (v2)
    h = padded(12);
  std::vector<uint8_t> b;
  b.reserve(12 + h.size() + a.data.size());
  b.insert(b.end(), kNpyMagic, kNpyMagic + 6);
  b.push_back(v2 ? 2 : 1);
  b.push_back(0);
  if (v2)
    put32(b, (uint32_t)h.size());
  else
    put16(b, (uint16_t)h.size());
  b.insert(b.end(), h.begin(), h.end());
  b.insert(b.end(), a.data.begin(), a.data.end());
  return b;
}

//===----------------------------------------------------------------------===//
// .npz (ZIP)
//===----------------------------------------------------------------------===//

namespace {
constexpr uint32_t kLocalSig = 0x04034b50;
constexpr uint32_t kCentralSig = 0x02014b50;
constexpr uint32_t kEndSig = 0x06054b50;
constexpr uint32_t kEnd64Sig = 0x06064b50;
constexpr uint32_t kEnd64LocatorSig = 0x07064b50;
constexpr uint32_t k32Max = 0xffffffffu;
constexpr uint16_t k16Max = 0xffffu;
} // namespace

bool parseNpz(ArrayRef<uint8_t> bytes, StringRef fileName,
              std::vector<Array> &out, std::string &error) {
  out.clear();
  const uint8_t *p = bytes.data();
  const uint64_t size = bytes.size();
  auto fail = [&](const Twine &msg) {
    error = (fileName + ": " + msg).str();
    out.clear();
    return false;
  };
  auto failEntry = [&](StringRef entry, const Twine &msg) {
    return fail("entry '" + entry + "': " + msg);
  };

  // The end of central directory record: the last one whose comment reaches
  // exactly to the end of the file, else the last one that fits.
  if (size < 22)
    return fail(size >= 4 && rd32(p) == kLocalSig
                    ? "truncated .npz (no end of central directory record)"
                    : "not a .npz file (not a ZIP archive)");
  uint64_t eocd = UINT64_MAX, loose = UINT64_MAX;
  uint64_t lowest = size - 22 > 0xffff ? size - 22 - 0xffff : 0;
  for (uint64_t off = size - 22 + 1; off-- > lowest;) {
    if (rd32(p + off) != kEndSig)
      continue;
    uint64_t end = off + 22 + rd16(p + off + 20);
    if (end == size) {
      eocd = off;
      break;
    }
    if (end <= size && loose == UINT64_MAX)
      loose = off;
  }
  if (eocd == UINT64_MAX)
    eocd = loose;
  if (eocd == UINT64_MAX)
    return fail(rd32(p) == kLocalSig
                    ? "truncated .npz (no end of central directory record)"
                    : "not a .npz file (not a ZIP archive)");
  uint64_t numEntries = rd16(p + eocd + 10);
  uint64_t cdSize = rd32(p + eocd + 12);
  uint64_t cdOffset = rd32(p + eocd + 16);
  if (rd16(p + eocd + 4) != 0 || rd16(p + eocd + 6) != 0)
    return fail("multi-disk ZIP archives are not supported");

  // ZIP64: a locator right before the record points to the ZIP64 record.
  if (eocd >= 20 && rd32(p + eocd - 20) == kEnd64LocatorSig) {
    uint64_t off64 = rd64(p + eocd - 20 + 8);
    if (off64 > size || size - off64 < 56 || rd32(p + off64) != kEnd64Sig)
      return fail("bad ZIP64 end of central directory record");
    numEntries = rd64(p + off64 + 32);
    cdSize = rd64(p + off64 + 40);
    cdOffset = rd64(p + off64 + 48);
  } else if (numEntries == k16Max || cdSize == k32Max || cdOffset == k32Max) {
    return fail("truncated .npz (the ZIP64 end of central directory record "
                "is missing)");
  }
  if (cdOffset > size || cdSize > size - cdOffset)
    return fail("truncated .npz (the central directory lies past the end of "
                "the file)");
  if (numEntries > cdSize / 46)
    return fail("bad central directory (" + Twine(numEntries) +
                " entries do not fit in " + Twine(cdSize) + " bytes)");

  std::set<std::string> seen;
  uint64_t cur = cdOffset;
  const uint64_t cdEnd = cdOffset + cdSize;
  for (uint64_t i = 0; i < numEntries; ++i) {
    if (cdEnd - cur < 46 || rd32(p + cur) != kCentralSig)
      return fail("bad central directory entry " + Twine(i));
    const uint8_t *c = p + cur;
    uint16_t flags = rd16(c + 8), method = rd16(c + 10);
    uint32_t crc = rd32(c + 16);
    uint64_t csize = rd32(c + 20), usize = rd32(c + 24);
    uint16_t nameLen = rd16(c + 28), extraLen = rd16(c + 30),
             commentLen = rd16(c + 32);
    uint64_t localOff = rd32(c + 42);
    if (cdEnd - cur - 46 < (uint64_t)nameLen + extraLen + commentLen)
      return fail("bad central directory entry " + Twine(i));
    std::string name(reinterpret_cast<const char *>(c + 46), nameLen);
    // The ZIP64 extended information extra field (id 1) holds, in order, the
    // sizes and offset whose 32-bit fields are 0xffffffff.
    const uint8_t *extra = c + 46 + nameLen;
    for (uint32_t e = 0; e + 4 <= extraLen;) {
      uint16_t id = rd16(extra + e), len = rd16(extra + e + 2);
      if (e + 4 + (uint32_t)len > extraLen)
        return failEntry(name, "bad extra field in the central directory");
      if (id == 1) {
        const uint8_t *z = extra + e + 4;
        uint32_t at = 0;
        auto take = [&](uint64_t &field) {
          if (field != k32Max)
            return true;
          if (at + 8 > len)
            return false;
          field = rd64(z + at);
          at += 8;
          return true;
        };
        if (!take(usize) || !take(csize) || !take(localOff))
          return failEntry(name, "bad ZIP64 extra field");
      }
      e += 4 + len;
    }
    cur += 46 + (uint64_t)nameLen + extraLen + commentLen;

    if (flags & 1)
      return failEntry(name, "encrypted entries are not supported");
    if (method == 8)
      return failEntry(name, "compressed .npz is not supported; write it with "
                             "numpy.savez");
    if (method != 0)
      return failEntry(name, "compression method " + Twine(method) +
                                 " is not supported; write it with numpy.savez");
    if (csize != usize)
      return failEntry(name, "a stored entry whose sizes differ (" +
                                 Twine(csize) + " and " + Twine(usize) + ")");
    if (localOff > size || size - localOff < 30 ||
        rd32(p + localOff) != kLocalSig)
      return failEntry(name, "bad local header (truncated?)");
    uint64_t dataStart = localOff + 30 + (uint64_t)rd16(p + localOff + 26) +
                         rd16(p + localOff + 28);
    if (dataStart > size || csize > size - dataStart)
      return failEntry(name, "its data lies past the end of the file "
                             "(truncated?)");
    ArrayRef<uint8_t> data(p + dataStart, csize);
    if (llvm::crc32(data) != crc)
      return failEntry(name, "CRC-32 mismatch (corrupted file?)");

    StringRef key(name);
    if (!key.consume_back(".npy"))
      return failEntry(name, "not a .npy array");
    if (!seen.insert(key.str()).second)
      return failEntry(name, "appears twice");
    Array a;
    std::string why;
    if (!parseNpy(data, a, why))
      return failEntry(name, why);
    a.name = key.str();
    out.push_back(std::move(a));
  }
  return true;
}

bool readNpz(StringRef path, std::vector<Array> &out, std::string &error) {
  auto buf = MemoryBuffer::getFile(path, /*IsText=*/false,
                                   /*RequiresNullTerminator=*/false);
  if (!buf) {
    error = ("cannot read '" + path + "': " + buf.getError().message()).str();
    return false;
  }
  ArrayRef<uint8_t> bytes(
      reinterpret_cast<const uint8_t *>((*buf)->getBufferStart()),
      (*buf)->getBufferSize());
  return parseNpz(bytes, path, out, error);
}

std::vector<uint8_t> serializeNpz(ArrayRef<Array> arrays,
                                  const WriteOptions &options) {
  std::vector<uint8_t> zip, central;
  const uint16_t dosTime = 0, dosDate = (0 << 9) | (1 << 5) | 1; // 1980-01-01
  for (const Array &a : arrays) {
    std::vector<uint8_t> npy = serializeNpy(a);
    uint32_t crc = llvm::crc32(npy);
    std::string name = a.name + ".npy";
    uint16_t flags = 0;
    for (char ch : name)
      if ((unsigned char)ch >= 0x80)
        flags |= 1 << 11; // the name is UTF-8
    uint64_t size = npy.size(), offset = zip.size();
    bool big = options.forceZip64 || size >= k32Max;
    bool bigOffset = offset >= k32Max;
    uint16_t version = big || bigOffset ? 45 : 20;

    // Local header.
    put32(zip, kLocalSig);
    put16(zip, version);
    put16(zip, flags);
    put16(zip, 0); // stored
    put16(zip, dosTime);
    put16(zip, dosDate);
    put32(zip, crc);
    put32(zip, big ? k32Max : (uint32_t)size);
    put32(zip, big ? k32Max : (uint32_t)size);
    put16(zip, (uint16_t)name.size());
    put16(zip, big ? 20 : 0);
    zip.insert(zip.end(), name.begin(), name.end());
    if (big) {
      put16(zip, 1);
      put16(zip, 16);
      put64(zip, size);
      put64(zip, size);
    }
    zip.insert(zip.end(), npy.begin(), npy.end());

    // Central directory entry.
    uint16_t extraLen = (big ? 16 : 0) + (bigOffset ? 8 : 0);
    put32(central, kCentralSig);
    put16(central, (3 << 8) | version); // made by: UNIX
    put16(central, version);
    put16(central, flags);
    put16(central, 0);
    put16(central, dosTime);
    put16(central, dosDate);
    put32(central, crc);
    put32(central, big ? k32Max : (uint32_t)size);
    put32(central, big ? k32Max : (uint32_t)size);
    put16(central, (uint16_t)name.size());
    put16(central, extraLen ? extraLen + 4 : 0);
    put16(central, 0);                 // comment
    put16(central, 0);                 // disk
    put16(central, 0);                 // internal attributes
    put32(central, 0644u << 16);       // external attributes: -rw-r--r--
    put32(central, bigOffset ? k32Max : (uint32_t)offset);
    central.insert(central.end(), name.begin(), name.end());
    if (extraLen) {
      put16(central, 1);
      put16(central, extraLen);
      if (big) {
        put64(central, size);
        put64(central, size);
      }
      if (bigOffset)
        put64(central, offset);
    }
  }
  uint64_t cdOffset = zip.size(), cdSize = central.size(),
           count = arrays.size();
  zip.insert(zip.end(), central.begin(), central.end());
  bool zip64 = options.forceZip64 || count >= k16Max || cdOffset >= k32Max ||
               cdSize >= k32Max;
  if (zip64) {
    uint64_t end64 = zip.size();
    put32(zip, kEnd64Sig);
    put64(zip, 44);
    put16(zip, (3 << 8) | 45);
    put16(zip, 45);
    put32(zip, 0);
    put32(zip, 0);
    put64(zip, count);
    put64(zip, count);
    put64(zip, cdSize);
    put64(zip, cdOffset);
    put32(zip, kEnd64LocatorSig);
    put32(zip, 0);
    put64(zip, end64);
    put32(zip, 1);
  }
  put32(zip, kEndSig);
  put16(zip, 0);
  put16(zip, 0);
  put16(zip, count >= k16Max ? k16Max : (uint16_t)count);
  put16(zip, count >= k16Max ? k16Max : (uint16_t)count);
  put32(zip, cdSize >= k32Max ? k32Max : (uint32_t)cdSize);
  put32(zip, cdOffset >= k32Max ? k32Max : (uint32_t)cdOffset);
  put16(zip, 0);
  return zip;
}

bool writeNpz(StringRef path, ArrayRef<Array> arrays, std::string &error,
              const WriteOptions &options) {
  std::vector<uint8_t> bytes = serializeNpz(arrays, options);
  std::error_code ec;
  raw_fd_ostream os(path, ec, sys::fs::OF_None);
  if (ec) {
    error = ("cannot write '" + path + "': " + ec.message()).str();
    return false;
  }
  os.write(reinterpret_cast<const char *>(bytes.data()), bytes.size());
  os.close();
  if (os.has_error()) {
    error = ("cannot write '" + path + "': " + os.error().message()).str();
    os.clear_error();
    return false;
  }
  return true;
}

} // namespace mlir::ditc::npz
