//===- WireIndexTest.cpp - lib/Importer/Onnx/WireIndex.h on real protobufs ===//
//
// Builds ModelProtos with onnx's generated protobuf classes, serialises them,
// and checks that every offset/size scanWireIndex records points exactly at
// the tensor's payload bytes in the serialised string. Then fuzzes the scanner
// with truncations and random mutations of a valid model (fixed seed): it
// must never crash, must agree with protobuf on truncated inputs, and whatever
// it records for an input protobuf accepts must be that input's payload.
//
//===----------------------------------------------------------------------===//

#include "lib/Importer/Onnx/WireIndex.h"

#include <onnx/onnx_pb.h>

#include <gtest/gtest.h>
#include <cstring>
#include <random>
#include <string>

using namespace mlir::ditc::onnx_import;

namespace {

struct Rng {
  std::mt19937_64 g;
  explicit Rng(uint64_t seed) : g(seed) {}
  int64_t range(int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(g);
  }
  bool coin(double p = 0.5) { return std::bernoulli_distribution(p)(g); }
  float real() { return std::uniform_real_distribution<float>(-4, 4)(g); }
};

template <typename T> std::string bytesOf(const T *p, size_t n) {
  return std::string(reinterpret_cast<const char *>(p), n * sizeof(T));
}

std::string floatBytes(const onnx::TensorProto &t) {
  return bytesOf(t.float_data().data(), t.float_data_size());
}
std::string doubleBytes(const onnx::TensorProto &t) {
  return bytesOf(t.double_data().data(), t.double_data_size());
}

/// What the scanner should record for a canonically serialised tensor: the
/// raw_data, else the packed float_data or double_data; nothing for other
/// encodings (int64_data is varint-packed; external data is elsewhere).
std::optional<std::string> expectedPayload(const onnx::TensorProto &t) {
  if (t.data_location() == onnx::TensorProto::EXTERNAL)
    return std::nullopt;
  if (t.has_raw_data())
    return t.raw_data();
  if (t.float_data_size())
    return floatBytes(t);
  if (t.double_data_size())
    return doubleBytes(t);
  return std::nullopt;
}

::testing::AssertionResult pointsAt(llvm::StringRef bytes,
                                    const PayloadLocation &loc,
                                    const std::string &want) {
  if (loc.offset > bytes.size() || loc.size > bytes.size() - loc.offset)
    return ::testing::AssertionFailure()
           << "location " << loc.offset << "+" << loc.size
           << " runs past the " << bytes.size() << "-byte input";
  if (loc.size != want.size())
    return ::testing::AssertionFailure()
           << "size " << loc.size << ", payload has " << want.size();
  if (std::memcmp(bytes.data() + loc.offset, want.data(), want.size()))
    return ::testing::AssertionFailure()
           << "bytes at offset " << loc.offset << " differ from the payload";
  return ::testing::AssertionSuccess();
}

/// A random tensor in one of several encodings.
void fillTensor(Rng &r, onnx::TensorProto &t, const std::string &name,
                bool big = false) {
  t.set_name(name);
  if (r.coin(0.3))
    t.set_doc_string(std::string(r.range(0, 300), 'd'));
  int64_t n = big ? r.range(20000, 70000) : r.range(1, r.coin(0.2) ? 3000 : 40);
  t.add_dims(n);
  switch (r.range(0, 8)) {
  case 0: { // float raw_data
    t.set_data_type(onnx::TensorProto::FLOAT);
    std::vector<float> v(n);
    for (float &x : v)
      x = r.real();
    t.set_raw_data(bytesOf(v.data(), n));
    break;
  }
  case 1: // packed float_data
    t.set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t k = 0; k < n; ++k)
      t.add_float_data(r.real());
    break;
  case 2: // int64_data (varints: no contiguous payload)
    t.set_data_type(onnx::TensorProto::INT64);
    for (int64_t k = 0; k < n; ++k)
      t.add_int64_data(r.range(-1000000, 1000000));
    break;
  case 3: // packed double_data
    t.set_data_type(onnx::TensorProto::DOUBLE);
    for (int64_t k = 0; k < n; ++k)
      t.add_double_data(r.real() * 1e10);
    break;
  case 4: { // int64 raw_data
    t.set_data_type(onnx::TensorProto::INT64);
    std::vector<int64_t> v(n);
    for (int64_t &x : v)
      x = r.range(INT64_MIN, INT64_MAX);
    t.set_raw_data(bytesOf(v.data(), n));
    break;
  }
  case 5: // empty tensor with (empty) raw_data
    t.clear_dims();
    t.add_dims(0);
    t.set_data_type(onnx::TensorProto::FLOAT);
    t.set_raw_data("");
    break;
  case 6: { // external data
    t.set_data_type(onnx::TensorProto::FLOAT);
    t.set_data_location(onnx::TensorProto::EXTERNAL);
    auto *e = t.add_external_data();
    e->set_key("location");
    e->set_value("weights.bin");
    e = t.add_external_data();
    e->set_key("offset");
    e->set_value(std::to_string(r.range(0, 4096)));
    break;
  }
  case 7: // f16 in int32_data
    t.set_data_type(onnx::TensorProto::FLOAT16);
    for (int64_t k = 0; k < n; ++k)
      t.add_int32_data(r.range(0, 65535));
    break;
  default: { // f16 raw_data
    t.set_data_type(onnx::TensorProto::FLOAT16);
    std::string raw(2 * n, '\0');
    for (char &c : raw)
      c = (char)r.range(0, 255);
    t.set_raw_data(raw);
    break;
  }
  }
}

/// A random model: initializers in every encoding, Constant nodes whose tensor
/// attribute sits at different attribute indices, and other nodes between.
onnx::ModelProto randomModel(Rng &r, bool big = false) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.set_producer_name("ditc-unit");
  auto *op = m.add_opset_import();
  op->set_domain("");
  op->set_version(17);
  onnx::GraphProto *g = m.mutable_graph();
  g->set_name("g");
  int nInit = r.range(0, 8);
  for (int k = 0; k < nInit; ++k)
    fillTensor(r, *g->add_initializer(), "w" + std::to_string(k),
               big && k == 0);
  int nNodes = r.range(0, 8);
  for (int k = 0; k < nNodes; ++k) {
    onnx::NodeProto *node = g->add_node();
    node->set_name("n" + std::to_string(k));
    node->add_output("v" + std::to_string(k));
    if (r.coin(0.4)) {
      node->set_op_type("Relu");
      node->add_input(k ? "v" + std::to_string(k - 1) : "x");
      if (r.coin()) {
        auto *a = node->add_attribute();
        a->set_name("alpha");
        a->set_type(onnx::AttributeProto::FLOAT);
        a->set_f(0.5f);
      }
      continue;
    }
    node->set_op_type("Constant");
    for (int a = r.range(0, 2); a > 0; --a) {
      auto *at = node->add_attribute();
      at->set_name("extra" + std::to_string(a));
      at->set_type(onnx::AttributeProto::INTS);
      for (int j = r.range(0, 5); j > 0; --j)
        at->add_ints(r.range(-300, 300));
    }
    auto *at = node->add_attribute();
    if (r.coin(0.2)) {
      at->set_name("value_float");
      at->set_type(onnx::AttributeProto::FLOAT);
      at->set_f(1.25f);
    } else {
      at->set_name("value");
      at->set_type(onnx::AttributeProto::TENSOR);
      fillTensor(r, *at->mutable_t(), "c" + std::to_string(k));
    }
    if (r.coin(0.3)) {
      auto *s = node->add_attribute();
      s->set_name("note");
      s->set_type(onnx::AttributeProto::STRING);
      s->set_s(std::string(r.range(0, 200), 's'));
    }
  }
  auto *in = g->add_input();
  in->set_name("x");
  in->mutable_type()->mutable_tensor_type()->set_elem_type(1);
  if (r.coin(0.5)) {
    auto *meta = m.add_metadata_props();
    meta->set_key("k");
    meta->set_value(std::string(r.range(0, 500), 'm'));
  }
  return m;
}

/// Checks `index` (scanned from `bytes`) against the parsed model. `strict`:
/// a canonically serialised model, where each recorded payload is exactly
/// the expected one; otherwise (mutated bytes) a recorded payload must be one
/// of the tensor's contiguous payloads.
::testing::AssertionResult consistent(llvm::StringRef bytes,
                                      const onnx::ModelProto &m,
                                      const WireIndex &index, bool strict) {
  const onnx::GraphProto &g = m.graph();
  if ((int)index.initializers.size() != g.initializer_size())
    return ::testing::AssertionFailure()
           << index.initializers.size() << " initializers indexed, graph has "
           << g.initializer_size();
  auto check = [&](const onnx::TensorProto &t,
                   const std::optional<PayloadLocation> &loc,
                   const std::string &what) -> ::testing::AssertionResult {
    std::optional<std::string> want = expectedPayload(t);
    if (strict) {
      if (want.has_value() != loc.has_value())
        return ::testing::AssertionFailure()
               << what << ": expected " << (want ? "a" : "no")
               << " payload location";
      if (loc) {
        auto res = pointsAt(bytes, *loc, *want);
        if (!res)
          return ::testing::AssertionFailure() << what << ": " << res.message();
      }
      return ::testing::AssertionSuccess();
    }
    if (!loc) {
      // raw_data is always length-delimited, so it is always found.
      if (t.has_raw_data() && !t.float_data_size() && !t.double_data_size())
        return ::testing::AssertionFailure()
               << what << ": raw_data present but not located";
      return ::testing::AssertionSuccess();
    }
    for (const std::string &cand :
         {t.raw_data(), floatBytes(t), doubleBytes(t)})
      if (pointsAt(bytes, *loc, cand))
        return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << what << ": location " << loc->offset << "+" << loc->size
           << " is none of the tensor's payloads";
  };
  for (int k = 0; k < g.initializer_size(); ++k) {
    auto res = check(g.initializer(k), index.initializers[k],
                     "initializer " + std::to_string(k));
    if (!res)
      return res;
  }
  int found = 0;
  for (int n = 0; n < g.node_size(); ++n) {
    const onnx::NodeProto &node = g.node(n);
    for (int a = 0; a < node.attribute_size(); ++a) {
      const onnx::AttributeProto &at = node.attribute(a);
      auto it = index.nodeTensors.find({n, a});
      std::optional<PayloadLocation> loc;
      if (it != index.nodeTensors.end()) {
        loc = it->second;
        ++found;
      }
      if (!at.has_t()) {
        if (loc)
          return ::testing::AssertionFailure()
                 << "node " << n << " attribute " << a
                 << " has no tensor but is indexed";
        continue;
      }
      auto res = check(at.t(), loc,
                       "node " + std::to_string(n) + " attribute " +
                           std::to_string(a));
      if (!res)
        return res;
    }
  }
  if (found != (int)index.nodeTensors.size())
    return ::testing::AssertionFailure()
           << index.nodeTensors.size() - found
           << " indexed node tensors name no tensor attribute";
  return ::testing::AssertionSuccess();
}

std::string serialize(const onnx::ModelProto &m) {
  std::string s;
  EXPECT_TRUE(m.SerializeToString(&s));
  return s;
}

} // namespace

TEST(WireIndex, RandomModelsPointAtPayloads) {
  static_assert(sizeof(float) == 4 && sizeof(double) == 8);
  uint32_t one = 1;
  char little;
  std::memcpy(&little, &one, 1);
  ASSERT_EQ(little, 1) << "the payload comparison assumes a little-endian host";
  Rng r(4242);
  int located = 0, absent = 0, nodeTensors = 0;
  for (int iter = 0; iter < 300; ++iter) {
    onnx::ModelProto m = randomModel(r, /*big=*/iter % 50 == 0);
    std::string bytes = serialize(m);
    WireIndex index;
    ASSERT_TRUE(scanWireIndex(bytes, index)) << "model " << iter;
    ASSERT_TRUE(consistent(bytes, m, index, /*strict=*/true))
        << "model " << iter;
    for (const auto &loc : index.initializers)
      (loc ? located : absent)++;
    nodeTensors += index.nodeTensors.size();
  }
  // Every kind of initializer and a good number of node tensors were seen.
  EXPECT_GT(located, 300);
  EXPECT_GT(absent, 150);
  EXPECT_GT(nodeTensors, 200);
}

TEST(WireIndex, FixedModelOffsets) {
  // One model built by hand, with the expected bytes spelled out.
  onnx::ModelProto m;
  m.set_ir_version(8);
  onnx::GraphProto *g = m.mutable_graph();
  std::vector<float> w0 = {1.5f, -2.25f, 3.0f, 1e-3f, 7.0f};
  auto *t0 = g->add_initializer();
  t0->set_name("raw");
  t0->set_data_type(onnx::TensorProto::FLOAT);
  t0->add_dims(5);
  t0->set_raw_data(bytesOf(w0.data(), w0.size()));
  auto *t1 = g->add_initializer();
  t1->set_name("packed");
  t1->set_data_type(onnx::TensorProto::FLOAT);
  t1->add_dims(3);
  for (float f : {0.5f, -1.0f, 42.0f})
    t1->add_float_data(f);
  auto *t2 = g->add_initializer();
  t2->set_name("ints");
  t2->set_data_type(onnx::TensorProto::INT64);
  t2->add_dims(2);
  t2->add_int64_data(-7);
  t2->add_int64_data(1ll << 40);
  auto *relu = g->add_node();
  relu->set_op_type("Relu");
  relu->add_input("raw");
  relu->add_output("r");
  auto *c = g->add_node();
  c->set_op_type("Constant");
  c->add_output("c");
  auto *extra = c->add_attribute();
  extra->set_name("unused");
  extra->set_type(onnx::AttributeProto::INT);
  extra->set_i(3);
  auto *val = c->add_attribute();
  val->set_name("value");
  val->set_type(onnx::AttributeProto::TENSOR);
  std::vector<double> cd = {3.25, -8.5};
  val->mutable_t()->set_data_type(onnx::TensorProto::DOUBLE);
  val->mutable_t()->add_dims(2);
  val->mutable_t()->set_raw_data(bytesOf(cd.data(), 2));
  std::string bytes = serialize(m);

  WireIndex index;
  ASSERT_TRUE(scanWireIndex(bytes, index));
  ASSERT_EQ(index.initializers.size(), 3u);
  ASSERT_TRUE(index.initializers[0]);
  EXPECT_TRUE(pointsAt(bytes, *index.initializers[0], bytesOf(w0.data(), 5)));
  ASSERT_TRUE(index.initializers[1]);
  float packed[] = {0.5f, -1.0f, 42.0f};
  EXPECT_TRUE(pointsAt(bytes, *index.initializers[1], bytesOf(packed, 3)));
  EXPECT_FALSE(index.initializers[2]);
  ASSERT_EQ(index.nodeTensors.size(), 1u);
  ASSERT_EQ(index.nodeTensors.begin()->first, std::make_pair(1, 1));
  EXPECT_TRUE(pointsAt(bytes, index.nodeTensors.begin()->second,
                       bytesOf(cd.data(), 2)));
  // The raw bytes are found by a plain search too, at the same place.
  EXPECT_EQ(bytes.find(bytesOf(w0.data(), 5)), index.initializers[0]->offset);
}

TEST(WireIndex, FieldOrderAndLargePayloads) {
  // Fields before and after the graph, the graph written last (a valid,
  // non-canonical order), and payloads whose lengths need 3-byte varints.
  Rng r(77);
  for (int iter = 0; iter < 20; ++iter) {
    onnx::ModelProto m = randomModel(r, /*big=*/true);
    onnx::ModelProto head = m, graphOnly;
    head.clear_graph();
    *graphOnly.mutable_graph() = m.graph();
    std::string bytes = serialize(graphOnly) + serialize(head);
    onnx::ModelProto parsed;
    ASSERT_TRUE(parsed.ParseFromString(bytes));
    WireIndex index;
    ASSERT_TRUE(scanWireIndex(bytes, index));
    EXPECT_TRUE(consistent(bytes, parsed, index, /*strict=*/true))
        << "iteration " << iter;
  }
}

// A graph split over two ModelProto.graph fields is one merged graph to
// protobuf (nodes appended); node tensors of the second part must be indexed
// by their merged node index.
// DISABLED: scanWireIndex restarts the node count at each graph field, so
// the second part's Constant tensors land on the first part's node indices
// (see the unit-test report).
TEST(WireIndex, SplitGraphFieldsKeepNodeIndices) {
  Rng r(78);
  for (int iter = 0; iter < 20; ++iter) {
    onnx::ModelProto a = randomModel(r), b;
    onnx::ModelProto second = randomModel(r);
    *b.mutable_graph() = second.graph();
    std::string bytes = serialize(a) + serialize(b);
    onnx::ModelProto parsed;
    ASSERT_TRUE(parsed.ParseFromString(bytes));
    WireIndex index;
    ASSERT_TRUE(scanWireIndex(bytes, index));
    EXPECT_TRUE(consistent(bytes, parsed, index, /*strict=*/true))
        << "iteration " << iter;
  }
}

// raw_data, when present, is the tensor's data (the importer's readTensor
// reads it first); the location must point at it even if a typed field is
// also present.
// DISABLED: the scanner keeps the last of raw_data/float_data/double_data in
// wire order, and double_data (field 10) is written after raw_data (field 9)
// (see the unit-test report).
TEST(WireIndex, RawDataTakesPrecedence) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  auto *t = m.mutable_graph()->add_initializer();
  t->set_data_type(onnx::TensorProto::DOUBLE);
  t->add_dims(2);
  std::vector<double> raw = {1.0, 2.0};
  t->set_raw_data(bytesOf(raw.data(), 2));
  t->add_double_data(5.0);
  t->add_double_data(6.0);
  std::string bytes = serialize(m);
  WireIndex index;
  ASSERT_TRUE(scanWireIndex(bytes, index));
  ASSERT_EQ(index.initializers.size(), 1u);
  ASSERT_TRUE(index.initializers[0]);
  EXPECT_TRUE(pointsAt(bytes, *index.initializers[0], t->raw_data()));
}

TEST(WireIndex, RejectsMalformed) {
  WireIndex index;
  EXPECT_TRUE(scanWireIndex("", index)); // the empty message
  EXPECT_FALSE(scanWireIndex(std::string("\x08", 1), index));     // no varint
  EXPECT_FALSE(scanWireIndex(std::string("\x3a\x05gr", 4), index)); // short
  EXPECT_FALSE(scanWireIndex(std::string("\x0b\x0c", 2), index)); // group
  EXPECT_FALSE(scanWireIndex(std::string("\x0f", 1), index));     // type 7
  EXPECT_FALSE(scanWireIndex(std::string("\x09\x01\x02", 3), index)); // fixed64
  std::string longVarint(11, '\xff');
  EXPECT_FALSE(scanWireIndex("\x08" + longVarint, index));
  // A graph whose initializer is not a well-formed message.
  std::string bad = std::string("\x3a\x04", 2) + std::string("\x2a\x02\x0b\x00", 4);
  EXPECT_FALSE(scanWireIndex(bad, index));
}

TEST(WireIndex, TruncationsAgreeWithProtobuf) {
  Rng r(99);
  int rejected = 0, accepted = 0;
  for (int model = 0; model < 6; ++model) {
    onnx::ModelProto m = randomModel(r);
    std::string bytes = serialize(m);
    // Every prefix of small models, a sample of the larger ones.
    size_t step = std::max<size_t>(1, bytes.size() / 3000);
    for (size_t len = 0; len < bytes.size(); len += step) {
      std::string cut = bytes.substr(0, len);
      onnx::ModelProto parsed;
      bool pbOk = parsed.ParseFromString(cut);
      WireIndex index;
      bool ok = scanWireIndex(cut, index);
      ASSERT_EQ(ok, pbOk) << "prefix of " << len << " / " << bytes.size()
                          << " bytes of model " << model;
      if (ok) {
        ++accepted;
        ASSERT_TRUE(consistent(cut, parsed, index, /*strict=*/true))
            << "prefix " << len;
      } else {
        ++rejected;
      }
    }
  }
  EXPECT_GT(rejected, 1000);
  EXPECT_GT(accepted, 0);
}

TEST(WireIndex, FuzzRandomMutationsNeverCrash) {
  // 2000 random mutations/truncations of valid models. The scanner may
  // reject anything; what it accepts and protobuf also parses must be
  // indexed consistently with what protobuf parsed.
  Rng r(2024);
  std::vector<std::string> seeds;
  for (int k = 0; k < 8; ++k)
    seeds.push_back(serialize(randomModel(r)));
  int scannerOk = 0, bothOk = 0, pbOnly = 0;
  for (int iter = 0; iter < 2000; ++iter) {
    std::string s = seeds[r.range(0, seeds.size() - 1)];
    for (int n = r.range(1, 4); n > 0 && !s.empty(); --n) {
      size_t at = r.range(0, s.size() - 1);
      switch (r.range(0, 7)) {
      case 0: // bit flip
        s[at] ^= char(1 << r.range(0, 7));
        break;
      case 1: // random byte
        s[at] = (char)r.range(0, 255);
        break;
      case 2: // truncate
        s.resize(at);
        break;
      case 3: // delete a range
        s.erase(at, r.range(1, 16));
        break;
      case 4: // insert random bytes
        for (int k = r.range(1, 8); k > 0; --k)
          s.insert(s.begin() + at, (char)r.range(0, 255));
        break;
      case 5: // duplicate a range
        s.insert(at, s.substr(r.range(0, s.size() - 1), r.range(1, 64)));
        break;
      case 6: // a length/varint byte made huge
        s[at] = (char)(0x80 | r.range(0, 127));
        break;
      default: // splice in a piece of another seed
        s.insert(at, seeds[r.range(0, seeds.size() - 1)].substr(0, r.range(1, 80)));
      }
    }
    WireIndex index;
    bool ok = scanWireIndex(s, index);
    onnx::ModelProto parsed;
    bool pbOk = parsed.ParseFromString(s);
    scannerOk += ok;
    if (ok && pbOk) {
      ++bothOk;
      ASSERT_TRUE(consistent(s, parsed, index, /*strict=*/false))
          << "mutation " << iter;
    }
    pbOnly += !ok && pbOk;
  }
  // Pure random bytes as well.
  for (int iter = 0; iter < 500; ++iter) {
    std::string s(r.range(0, 300), '\0');
    for (char &c : s)
      c = (char)r.range(0, 255);
    WireIndex index;
    (void)scanWireIndex(s, index);
  }
  printf("scanner accepted %d, both accepted %d, protobuf only %d\n",
         scannerOk, bothOk, pbOnly);
  EXPECT_GT(bothOk, 50); // the consistency check was exercised
}
