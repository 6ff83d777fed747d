//===- NpzTest.cpp - lib/Driver/Npz: .npy/.npz reading and writing --------===//
//
// Round trips of every dtype and odd shapes (scalars, 1-tuples, zero-size
// dimensions), the .npz files numpy wrote for test/fixtures, hand-made
// headers of every format version, the errors for compressed entries and
// malformed headers, and a fuzz smoke test: truncations and random byte
// flips of valid archives (fixed seeds) must give an error or a result,
// never a crash.
//
//===----------------------------------------------------------------------===//

#include "lib/Driver/Npz.h"

#include "llvm/Support/CRC.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

using namespace mlir::ditc::npz;

namespace {

const DType kAllTypes[] = {DType::F32, DType::I64, DType::I32,
                           DType::Bool, DType::F16, DType::F64,
                           DType::I8,  DType::U8,  DType::I16,
                           DType::U16, DType::U32, DType::U64};

Array makeArray(const std::string &name, DType t, std::vector<int64_t> shape,
                uint64_t seed) {
  Array a;
  a.name = name;
  a.dtype = t;
  a.shape = std::move(shape);
  std::mt19937_64 rng(seed);
  a.data.resize(a.numElements() * dtypeSize(t));
  for (uint8_t &b : a.data)
    b = t == DType::Bool ? rng() & 1 : (uint8_t)rng();
  return a;
}

std::vector<uint8_t> toBytes(const std::string &s) {
  return std::vector<uint8_t>(s.begin(), s.end());
}

/// A .npy file with the given raw header text (padded as numpy does).
std::vector<uint8_t> npyWithHeader(int major, const std::string &dict,
                                   const std::vector<uint8_t> &data) {
  std::string h = dict;
  size_t prefix = major == 1 ? 10 : 12;
  h.append((64 - (prefix + h.size() + 1) % 64) % 64, ' ');
  h += '\n';
  std::vector<uint8_t> b = toBytes("\x93NUMPY");
  b.push_back((uint8_t)major);
  b.push_back(0);
  uint32_t len = h.size();
  b.push_back(len & 0xff);
  b.push_back((len >> 8) & 0xff);
  if (major != 1) {
    b.push_back((len >> 16) & 0xff);
    b.push_back((len >> 24) & 0xff);
  }
  b.insert(b.end(), h.begin(), h.end());
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

void expectSame(const std::vector<Array> &a, const std::vector<Array> &b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].name, b[i].name);
    EXPECT_EQ(a[i].dtype, b[i].dtype) << a[i].name;
    EXPECT_EQ(a[i].shape, b[i].shape) << a[i].name;
    EXPECT_EQ(a[i].data, b[i].data) << a[i].name;
  }
}

std::vector<Array> sampleArrays() {
  std::vector<Array> arrays;
  arrays.push_back(makeArray("hidden_states", DType::F32, {2, 4, 3, 3}, 1));
  arrays.push_back(makeArray("timestep", DType::I64, {2}, 2));
  arrays.push_back(makeArray("mask", DType::Bool, {1, 5}, 3));
  arrays.push_back(makeArray("scale", DType::F16, {}, 4));
  return arrays;
}

} // namespace

TEST(Npz, DTypeNamesAndDescrs) {
  for (DType t : kAllTypes) {
    DType back;
    ASSERT_TRUE(parseDescr(dtypeDescr(t), back)) << dtypeDescr(t);
    EXPECT_EQ(back, t);
    ASSERT_TRUE(dtypeFromCode(static_cast<int32_t>(t), back));
    EXPECT_EQ(back, t);
  }
  DType t;
  EXPECT_TRUE(parseDescr("<b1", t));
  EXPECT_EQ(t, DType::Bool);
  EXPECT_TRUE(parseDescr("=f4", t));
  EXPECT_EQ(t, DType::F32);
  EXPECT_FALSE(parseDescr(">f4", t));
  EXPECT_TRUE(parseDescr("<u8", t));
  EXPECT_EQ(t, DType::U64);
  EXPECT_FALSE(parseDescr(">u8", t));
  EXPECT_FALSE(parseDescr("<c8", t));
  EXPECT_FALSE(dtypeFromCode(5, t)); // bfloat16
  EXPECT_EQ(formatShape({}), "()");
  EXPECT_EQ(formatShape({5}), "(5,)");
  EXPECT_EQ(formatShape({2, 3}), "(2, 3)");
}

TEST(Npz, RoundTripEveryDTypeAndShape) {
  const std::vector<std::vector<int64_t>> shapes = {
      {}, {0}, {1}, {5}, {1, 1, 1}, {2, 3}, {3, 0, 2}, {2, 3, 4, 5}, {7, 1}};
  for (bool zip64 : {false, true}) {
    std::vector<Array> arrays;
    uint64_t seed = 0;
    for (DType t : kAllTypes)
      for (const auto &shape : shapes)
        arrays.push_back(makeArray(std::string(dtypeName(t)) + "_" +
                                       std::to_string(seed),
                                   t, shape, ++seed));
    WriteOptions options;
    options.forceZip64 = zip64;
    std::vector<uint8_t> bytes = serializeNpz(arrays, options);
    std::vector<Array> back;
    std::string error;
    ASSERT_TRUE(parseNpz(bytes, "mem.npz", back, error)) << error;
    expectSame(arrays, back);
  }
}

TEST(Npz, NpyHeaderIsPaddedTo64) {
  for (DType t : kAllTypes) {
    Array a = makeArray("x", t, {3, 1, 4}, 9);
    std::vector<uint8_t> npy = serializeNpy(a);
    ASSERT_GE(npy.size(), 10u);
    size_t headerLen = npy[8] | (npy[9] << 8);
    EXPECT_EQ((10 + headerLen) % 64, 0u);
    EXPECT_EQ(npy[10 + headerLen - 1], '\n');
    EXPECT_EQ(npy.size(), 10 + headerLen + a.data.size());
  }
}

TEST(Npz, EmptyArchive) {
  std::vector<uint8_t> bytes = serializeNpz({});
  std::vector<Array> back;
  std::string error;
  ASSERT_TRUE(parseNpz(bytes, "empty.npz", back, error)) << error;
  EXPECT_TRUE(back.empty());
}

TEST(Npz, FileRoundTrip) {
  llvm::SmallString<128> path;
  ASSERT_FALSE(llvm::sys::fs::createTemporaryFile("npztest", "npz", path));
  std::vector<Array> arrays = sampleArrays();
  std::string error;
  ASSERT_TRUE(writeNpz(path, arrays, error)) << error;
  std::vector<Array> back;
  ASSERT_TRUE(readNpz(path, back, error)) << error;
  expectSame(arrays, back);
  llvm::sys::fs::remove(path);

  EXPECT_FALSE(readNpz("/nonexistent/dir/x.npz", back, error));
  EXPECT_NE(error.find("/nonexistent/dir/x.npz"), std::string::npos) << error;
  EXPECT_FALSE(writeNpz("/nonexistent/dir/x.npz", arrays, error));
  EXPECT_NE(error.find("cannot write"), std::string::npos) << error;
}

// The archives numpy.savez wrote for the model fixtures (ZIP64 local headers).
TEST(Npz, ReadsNumpyWrittenFixtures) {
  std::string dir = std::string(DITC_SOURCE_DIR) + "/test/fixtures/";
  std::vector<Array> arrays;
  std::string error;
  ASSERT_TRUE(readNpz(dir + "dit_torchscript/inputs.npz", arrays, error))
      << error;
  ASSERT_EQ(arrays.size(), 3u);
  EXPECT_EQ(arrays[0].name, "hidden_states");
  EXPECT_EQ(arrays[0].dtype, DType::F32);
  EXPECT_EQ(arrays[0].shape, (std::vector<int64_t>{2, 4, 8, 8}));
  EXPECT_EQ(arrays[1].name, "timestep");
  EXPECT_EQ(arrays[1].dtype, DType::I64);
  EXPECT_EQ(arrays[1].shape, (std::vector<int64_t>{2}));
  for (int i = 0; i < 2; ++i) {
    int64_t v;
    std::memcpy(&v, arrays[1].data.data() + 8 * i, 8);
    EXPECT_GE(v, 0);
    EXPECT_LT(v, 1000);
  }
  ASSERT_TRUE(readNpz(dir + "llama_dynamo/outputs.npz", arrays, error)) << error;
  ASSERT_EQ(arrays.size(), 1u);
  EXPECT_EQ(arrays[0].name, "logits");
  EXPECT_EQ(arrays[0].shape, (std::vector<int64_t>{1, 16, 128}));
  // Whatever numpy wrote reads back the same after our writer.
  std::vector<Array> back;
  ASSERT_TRUE(parseNpz(serializeNpz(arrays), "re.npz", back, error)) << error;
  expectSame(arrays, back);
}

TEST(Npz, HeaderVersionsAndForms) {
  std::vector<uint8_t> five(5 * 4, 0x11);
  struct Case {
    int major;
    std::string dict;
    std::vector<int64_t> shape;
  } cases[] = {
      {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }", {5}},
      {2, "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }", {5}},
      {3, "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (5,)}", {5}},
      {1, "{'shape': (1, 5), 'fortran_order': False, 'descr': '<f4'}", {1, 5}},
      {1, "{ 'descr' : '<f4' , 'fortran_order' : False , 'shape' : ( 5 , 1 ) , }",
       {5, 1}},
      {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (5L,), }", {5}},
  };
  for (const Case &c : cases) {
    Array a;
    std::string error;
    ASSERT_TRUE(parseNpy(npyWithHeader(c.major, c.dict, five), a, error))
        << c.dict << ": " << error;
    EXPECT_EQ(a.dtype, DType::F32);
    EXPECT_EQ(a.shape, c.shape);
    EXPECT_EQ(a.data, five);
  }
  // A scalar.
  Array a;
  std::string error;
  std::vector<uint8_t> one(8, 0x22);
  ASSERT_TRUE(parseNpy(
      npyWithHeader(1, "{'descr': '<i8', 'fortran_order': False, 'shape': (), }",
                    one),
      a, error))
      << error;
  EXPECT_TRUE(a.shape.empty());
  EXPECT_EQ(a.numElements(), 1);
}

TEST(Npz, MalformedNpyHeaders) {
  std::vector<uint8_t> five(5 * 4, 0);
  struct Case {
    std::string dict;
    const char *message;
  } cases[] = {
      {"{'descr': '<f4', 'fortran_order': True, 'shape': (5,), }", "Fortran"},
      {"{'descr': '>f4', 'fortran_order': False, 'shape': (5,), }",
       "unsupported dtype '>f4'"},
      {"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (5,), }",
       "structured"},
      {"{'descr': '<f4', 'shape': (5,), }", "lacks"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }",
       "needs 16 data bytes, the array has 20"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (-5,), }", "shape"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (5,), 'x': 1}",
       "unexpected key"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (5,)} junk",
       "unexpected text"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': "
       "(99999999999, 99999999999, 99999999999), }",
       "too large"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': "
       "(99999999999999999999999,), }",
       "shape"},
      {"[1, 2]", "not a dict"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (5,", "shape"},
  };
  for (const Case &c : cases) {
    Array a;
    std::string error;
    EXPECT_FALSE(parseNpy(npyWithHeader(1, c.dict, five), a, error)) << c.dict;
    EXPECT_NE(error.find(c.message), std::string::npos)
        << c.dict << " -> " << error;
  }
  Array a;
  std::string error;
  EXPECT_FALSE(parseNpy(toBytes("\x93NUMPZ\x01\x00\x10\x00"), a, error));
  EXPECT_NE(error.find("bad magic"), std::string::npos) << error;
  EXPECT_FALSE(parseNpy(toBytes("\x93NUMPY\x04"), a, error));
  EXPECT_NE(error.find("truncated"), std::string::npos) << error;
  std::vector<uint8_t> v5 = npyWithHeader(1, "{}", {});
  v5[6] = 5;
  EXPECT_FALSE(parseNpy(v5, a, error));
  EXPECT_NE(error.find("version 5.0"), std::string::npos) << error;
  // A header length past the end.
  std::vector<uint8_t> longHeader = toBytes("\x93NUMPY");
  longHeader.insert(longHeader.end(), {1, 0, 0xff, 0xff, '{', '}'});
  EXPECT_FALSE(parseNpy(longHeader, a, error));
  EXPECT_NE(error.find("header is 65535 bytes long"), std::string::npos)
      << error;
  std::vector<uint8_t> longHeader2 = toBytes("\x93NUMPY");
  longHeader2.insert(longHeader2.end(), {2, 0, 0xff, 0xff, 0xff, 0xff, '{'});
  EXPECT_FALSE(parseNpy(longHeader2, a, error));
  EXPECT_NE(error.find("truncated"), std::string::npos) << error;
}

TEST(Npz, CompressedEntriesAreRefused) {
  std::vector<Array> arrays = sampleArrays();
  std::vector<uint8_t> bytes = serializeNpz(arrays);
  // Mark every entry deflated, in the local and the central headers.
  for (size_t i = 0; i + 4 <= bytes.size(); ++i) {
    uint32_t sig;
    std::memcpy(&sig, &bytes[i], 4);
    if (sig == 0x04034b50)
      bytes[i + 8] = 8;
    else if (sig == 0x02014b50)
      bytes[i + 10] = 8;
  }
  std::vector<Array> back;
  std::string error;
  EXPECT_FALSE(parseNpz(bytes, "in.npz", back, error));
  EXPECT_EQ(error, "in.npz: entry 'hidden_states.npy': compressed .npz is not "
                   "supported; write it with numpy.savez");
}

TEST(Npz, ArchiveErrors) {
  std::vector<Array> arrays = sampleArrays();
  std::vector<uint8_t> good = serializeNpz(arrays);
  std::vector<Array> back;
  std::string error;

  EXPECT_FALSE(parseNpz(toBytes("hello, world"), "a.npz", back, error));
  EXPECT_NE(error.find("a.npz: not a .npz file"), std::string::npos) << error;

  std::vector<uint8_t> cut(good.begin(), good.begin() + good.size() / 2);
  EXPECT_FALSE(parseNpz(cut, "b.npz", back, error));
  EXPECT_NE(error.find("b.npz: truncated"), std::string::npos) << error;

  // A flipped data byte: the CRC-32 catches it.
  std::vector<uint8_t> flipped = good;
  flipped[200] ^= 0x40;
  EXPECT_FALSE(parseNpz(flipped, "c.npz", back, error));
  EXPECT_NE(error.find("CRC-32 mismatch"), std::string::npos) << error;

  // An entry that is not .npy.
  Array raw = makeArray("x", DType::U8, {3}, 5);
  std::vector<uint8_t> npz = serializeNpz({raw});
  for (size_t i = 0; i + 5 <= npz.size(); ++i)
    if (std::memcmp(&npz[i], "x.npy", 5) == 0)
      std::memcpy(&npz[i], "x.txt", 5);
  EXPECT_FALSE(parseNpz(npz, "d.npz", back, error));
  EXPECT_NE(error.find("entry 'x.txt': not a .npy array"), std::string::npos)
      << error;

  // Duplicate names.
  EXPECT_FALSE(parseNpz(serializeNpz({raw, raw}), "e.npz", back, error));
  EXPECT_NE(error.find("appears twice"), std::string::npos) << error;
}

// Python's zipfile writes sizes after the data (flag bit 3) when the output
// cannot seek; the reader takes them from the central directory.
TEST(Npz, LocalHeaderWithoutSizes) {
  std::vector<Array> arrays = sampleArrays();
  std::vector<uint8_t> bytes = serializeNpz(arrays);
  for (size_t i = 0; i + 30 <= bytes.size(); ++i) {
    uint32_t sig;
    std::memcpy(&sig, &bytes[i], 4);
    if (sig != 0x04034b50)
      continue;
    bytes[i + 6] |= 8;
    std::memset(&bytes[i + 14], 0, 12); // crc, sizes
  }
  std::vector<Array> back;
  std::string error;
  ASSERT_TRUE(parseNpz(bytes, "dd.npz", back, error)) << error;
  expectSame(arrays, back);
}

// Fuzz smoke test: every truncation and a few thousand random byte flips of
// valid archives (plain and ZIP64) give an error or arrays, never a crash.
TEST(Npz, FuzzTruncationsAndByteFlips) {
  for (bool zip64 : {false, true}) {
    WriteOptions options;
    options.forceZip64 = zip64;
    std::vector<uint8_t> good = serializeNpz(sampleArrays(), options);
    std::vector<Array> back;
    std::string error;
    for (size_t n = 0; n < good.size(); ++n) {
      std::vector<uint8_t> cut(good.begin(), good.begin() + n);
      EXPECT_FALSE(parseNpz(cut, "t.npz", back, error)) << n;
      EXPECT_FALSE(error.empty());
    }
    std::mt19937_64 rng(zip64 ? 4242 : 1234);
    int accepted = 0;
    for (int iter = 0; iter < 3000; ++iter) {
      std::vector<uint8_t> m = good;
      int flips = 1 + rng() % 4;
      for (int f = 0; f < flips; ++f) {
        size_t at = rng() % m.size();
        switch (rng() % 3) {
        case 0:
          m[at] ^= (uint8_t)(1u << (rng() % 8));
          break;
        case 1:
          m[at] = (uint8_t)rng();
          break;
        default:
          m[at] = (rng() & 1) ? 0xff : 0x00;
          break;
        }
      }
      if (rng() % 4 == 0)
        m.resize(rng() % m.size());
      error.clear();
      if (parseNpz(m, "f.npz", back, error)) {
        ++accepted;
        for (const Array &a : back)
          EXPECT_EQ(a.data.size(), a.numElements() * dtypeSize(a.dtype));
      } else {
        EXPECT_FALSE(error.empty());
        EXPECT_EQ(error.find('\n'), std::string::npos) << error;
      }
    }
    // Flips in the stored data are caught by the CRC, so most mutants fail.
    EXPECT_LT(accepted, 3000);
  }
}

// The .npy parser behind the CRC: header mutations and truncations.
TEST(Npz, FuzzNpyHeaders) {
  std::mt19937_64 rng(777);
  for (DType t : kAllTypes) {
    std::vector<uint8_t> good = serializeNpy(makeArray("x", t, {2, 3}, 3));
    Array a;
    std::string error;
    for (size_t n = 0; n < good.size(); ++n) {
      std::vector<uint8_t> cut(good.begin(), good.begin() + n);
      EXPECT_FALSE(parseNpy(cut, a, error)) << n;
    }
    for (int iter = 0; iter < 500; ++iter) {
      std::vector<uint8_t> m = good;
      int flips = 1 + rng() % 3;
      size_t headerEnd = std::min<size_t>(m.size(), 80);
      for (int f = 0; f < flips; ++f) {
        size_t at = rng() % headerEnd;
        const char pool[] = "(),:'\"{}0123456789 LTF<|>fib\xff\x00";
        m[at] = rng() & 1 ? (uint8_t)pool[rng() % (sizeof pool - 1)]
                          : (uint8_t)rng();
      }
      error.clear();
      if (parseNpy(m, a, error))
        EXPECT_EQ(a.data.size(), a.numElements() * dtypeSize(a.dtype));
      else
        EXPECT_FALSE(error.empty());
    }
  }
}
