//===- DitcShapes.cpp - shape rules ---------------------------------------===//

#include "dialects/Ditc/IR/DitcShapes.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MathExtras.h"
#include <map>

namespace mlir::ditc {

std::optional<int64_t> numElements(ArrayRef<int64_t> shape) {
  if (llvm::any_of(shape, [](int64_t d) { return d < 0; }))
    return std::nullopt;
  if (llvm::is_contained(shape, 0))
    return 0;
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d != 0 && n > kMaxElements / d)
      return std::nullopt;
    n *= d;
  }
  return n;
}

std::string shapeStr(ArrayRef<int64_t> shape) {
  if (shape.empty())
    return "scalar";
  std::string s;
  for (auto [i, d] : llvm::enumerate(shape)) {
    if (i)
      s += "x";
    s += std::to_string(d);
  }
  return s;
}

static LogicalResult fail(std::string &why, const llvm::Twine &msg) {
  why = msg.str();
  return failure();
}

FailureOr<Shape> broadcastShapes(ArrayRef<ArrayRef<int64_t>> shapes,
                                 std::string &why) {
  size_t rank = 0;
  for (ArrayRef<int64_t> s : shapes)
    rank = std::max(rank, s.size());
  Shape out(rank, 1);
  for (ArrayRef<int64_t> s : shapes) {
    size_t off = rank - s.size();
    for (size_t i = 0; i < s.size(); ++i) {
      int64_t d = s[i];
      int64_t &o = out[off + i];
      if (d == o || d == 1)
        continue;
      if (o == 1) {
        o = d;
        continue;
      }
      std::string all;
      for (ArrayRef<int64_t> t : shapes)
        all += (all.empty() ? "" : ", ") + shapeStr(t);
      (void)fail(why, "shapes " + all + " do not broadcast");
      return failure();
    }
  }
  return out;
}

bool broadcastsTo(ArrayRef<int64_t> from, ArrayRef<int64_t> to) {
  if (from.size() > to.size())
    return false;
  size_t off = to.size() - from.size();
  for (size_t i = 0; i < from.size(); ++i)
    if (from[i] != 1 && from[i] != to[off + i])
      return false;
  return true;
}

FailureOr<Shape> matmulShape(ArrayRef<int64_t> lhs, ArrayRef<int64_t> rhs,
                             std::string &why) {
  if (lhs.size() < 2 || rhs.size() < 2) {
    (void)fail(why, "matmul operands need rank >= 2, got " + shapeStr(lhs) +
                        " and " + shapeStr(rhs));
    return failure();
  }
  int64_t m = lhs[lhs.size() - 2], k = lhs.back();
  int64_t k2 = rhs[rhs.size() - 2], n = rhs.back();
  if (k != k2) {
    (void)fail(why, "matmul contraction mismatch: " + shapeStr(lhs) + " x " +
                        shapeStr(rhs));
    return failure();
  }
  FailureOr<Shape> batch =
      broadcastShapes({lhs.drop_back(2), rhs.drop_back(2)}, why);
  if (failed(batch))
    return failure();
  Shape out = *batch;
  out.push_back(m);
  out.push_back(n);
  return out;
}

FailureOr<Shape> linearShape(ArrayRef<int64_t> input, ArrayRef<int64_t> weight,
                             bool transposeWeight, std::string &why) {
  if (input.empty() || weight.size() != 2) {
    (void)fail(why, "linear needs input rank >= 1 and a 2-D weight, got " +
                        shapeStr(input) + " and " + shapeStr(weight));
    return failure();
  }
  int64_t k = transposeWeight ? weight[1] : weight[0];
  int64_t n = transposeWeight ? weight[0] : weight[1];
  if (input.back() != k) {
    (void)fail(why, "linear input " + shapeStr(input) +
                        " does not match weight " + shapeStr(weight) +
                        (transposeWeight ? " (transposed)" : ""));
    return failure();
  }
  Shape out(input.begin(), input.end());
  out.back() = n;
  return out;
}

static LogicalResult checkAxis(int64_t axis, size_t rank, std::string &why) {
  if (axis < 0 || axis >= (int64_t)rank)
    return fail(why, "axis " + llvm::Twine(axis) + " out of range for rank " +
                         llvm::Twine(rank));
  return success();
}

FailureOr<Shape> reduceShape(ArrayRef<int64_t> input, ArrayRef<int64_t> axes,
                             bool keepDims, std::string &why) {
  SmallVector<bool> reduced(input.size(), false);
  int64_t prev = -1;
  for (int64_t a : axes) {
    if (failed(checkAxis(a, input.size(), why)))
      return failure();
    if (a <= prev) {
      (void)fail(why, "reduction axes must be sorted and unique");
      return failure();
    }
    prev = a;
    reduced[a] = true;
  }
  Shape out;
  for (size_t i = 0; i < input.size(); ++i) {
    if (!reduced[i])
      out.push_back(input[i]);
    else if (keepDims)
      out.push_back(1);
  }
  return out;
}

FailureOr<Shape> transposeShape(ArrayRef<int64_t> input,
                                ArrayRef<int64_t> perm, std::string &why) {
  if (perm.size() != input.size()) {
    (void)fail(why, "permutation has " + llvm::Twine(perm.size()) +
                        " entries for rank " + llvm::Twine(input.size()));
    return failure();
  }
  SmallVector<bool> seen(input.size(), false);
  Shape out;
  for (int64_t p : perm) {
    if (p < 0 || p >= (int64_t)input.size() || seen[p]) {
      (void)fail(why, "invalid permutation");
      return failure();
    }
    seen[p] = true;
    out.push_back(input[p]);
  }
  return out;
}

FailureOr<Shape> concatShape(ArrayRef<ArrayRef<int64_t>> inputs, int64_t axis,
                             std::string &why) {
  if (inputs.empty()) {
    (void)fail(why, "concat needs at least one input");
    return failure();
  }
  Shape out(inputs[0].begin(), inputs[0].end());
  if (failed(checkAxis(axis, out.size(), why)))
    return failure();
  for (ArrayRef<int64_t> s : inputs.drop_front()) {
    if (s.size() != out.size()) {
      (void)fail(why, "concat inputs differ in rank");
      return failure();
    }
    for (size_t i = 0; i < s.size(); ++i) {
      if ((int64_t)i == axis)
        out[i] += s[i];
      else if (s[i] != out[i]) {
        (void)fail(why, "concat inputs " + shapeStr(inputs[0]) + " and " +
                            shapeStr(s) + " differ off axis " +
                            llvm::Twine(axis));
        return failure();
      }
    }
  }
  return out;
}

FailureOr<Shape> gatherShape(ArrayRef<int64_t> data, ArrayRef<int64_t> indices,
                             int64_t axis, std::string &why) {
  if (failed(checkAxis(axis, data.size(), why)))
    return failure();
  Shape out(data.begin(), data.begin() + axis);
  out.append(indices.begin(), indices.end());
  out.append(data.begin() + axis + 1, data.end());
  return out;
}

FailureOr<Shape> convShape(ArrayRef<int64_t> input, ArrayRef<int64_t> weight,
                           ArrayRef<int64_t> strides, ArrayRef<int64_t> pads,
                           ArrayRef<int64_t> dilations, int64_t group,
                           std::string &why) {
  if (input.size() < 3 || weight.size() != input.size()) {
    (void)fail(why, "conv needs input [N, C, spatial...] and a weight of the "
                    "same rank, got " +
                        shapeStr(input) + " and " + shapeStr(weight));
    return failure();
  }
  size_t sp = input.size() - 2;
  if (strides.size() != sp || dilations.size() != sp || pads.size() != 2 * sp) {
    (void)fail(why, "conv strides/dilations/pads do not match the " +
                        llvm::Twine(sp) + " spatial axes");
    return failure();
  }
  if (group < 1 || input[1] % group || weight[0] % group ||
      weight[1] * group != input[1]) {
    (void)fail(why, "conv channels: input " + shapeStr(input) + ", weight " +
                        shapeStr(weight) + ", group " + llvm::Twine(group));
    return failure();
  }
  Shape out{input[0], weight[0]};
  for (size_t i = 0; i < sp; ++i) {
    if (strides[i] < 1 || dilations[i] < 1 || pads[i] < 0 || pads[sp + i] < 0) {
      (void)fail(why, "conv strides and dilations must be >= 1, pads >= 0");
      return failure();
    }
    // span = input + pads - dilated kernel, without overflowing int64.
    int64_t eff, span;
    if (llvm::MulOverflow(dilations[i], weight[2 + i] - 1, eff) ||
        llvm::AddOverflow(input[2 + i], pads[i], span) ||
        llvm::AddOverflow(span, pads[sp + i], span)) {
      (void)fail(why, "conv dilated kernel or padded input overflows");
      return failure();
    }
    span = span - eff - 1;
    if (span < 0) {
      (void)fail(why, "conv kernel larger than the padded input");
      return failure();
    }
    out.push_back(span / strides[i] + 1);
  }
  return out;
}

FailureOr<Shape> attentionShape(ArrayRef<int64_t> q, ArrayRef<int64_t> k,
                                ArrayRef<int64_t> v,
                                std::optional<ArrayRef<int64_t>> mask,
                                std::string &why) {
  if (q.size() != 4 || k.size() != 4 || v.size() != 4) {
    (void)fail(why, "attention takes [B, H, S, D] query, key and value, got " +
                        shapeStr(q) + ", " + shapeStr(k) + ", " + shapeStr(v));
    return failure();
  }
  if (k[0] != q[0] || v[0] != q[0] || k[3] != q[3] || v[1] != k[1] ||
      v[2] != k[2]) {
    (void)fail(why, "attention shapes disagree: query " + shapeStr(q) +
                        ", key " + shapeStr(k) + ", value " + shapeStr(v));
    return failure();
  }
  if (k[1] < 1 || q[1] % k[1]) {
    (void)fail(why, "query heads (" + llvm::Twine(q[1]) +
                        ") are not a multiple of key/value heads (" +
                        llvm::Twine(k[1]) + ")");
    return failure();
  }
  if (mask) {
    int64_t full[4] = {q[0], q[1], q[2], k[2]};
    if (!broadcastsTo(*mask, full)) {
      (void)fail(why, "attention mask " + shapeStr(*mask) +
                          " does not broadcast to " + shapeStr(full));
      return failure();
    }
  }
  return Shape{q[0], q[1], q[2], v[3]};
}

FailureOr<EinsumSpec> parseEinsum(StringRef eq, ArrayRef<int64_t> ranks,
                                  std::string &why) {
  std::string s;
  for (char c : eq)
    if (c != ' ')
      s += c;
  StringRef str(s);
  auto [lhs, rhsPart] = str.split("->");
  bool explicitOut = str.contains("->");
  SmallVector<StringRef> terms;
  lhs.split(terms, ',');
  if (terms.size() != ranks.size()) {
    (void)fail(why, "einsum '" + eq + "' has " + llvm::Twine(terms.size()) +
                        " terms for " + llvm::Twine(ranks.size()) +
                        " inputs");
    return failure();
  }
  // Letters not used by the equation stand in for ellipsis dimensions.
  std::string spare;
  for (char c = 'A'; c <= 'Z'; ++c)
    if (!str.contains(c))
      spare += c;
  for (char c = 'a'; c <= 'z'; ++c)
    if (!str.contains(c))
      spare += c;
  int64_t ellRank = 0;
  EinsumSpec spec;
  auto expand = [&](StringRef term, int64_t rank,
                    std::string &out) -> LogicalResult {
    size_t pos = term.find("...");
    for (char c : term)
      if (c != '.' && !llvm::isAlpha(c))
        return fail(why, "einsum '" + eq + "': bad character '" +
                             llvm::Twine(c) + "'");
    if (term.count('.') != (pos == StringRef::npos ? 0u : 3u))
      return fail(why, "einsum '" + eq + "': '.' only appears as one '...'");
    if (pos == StringRef::npos) {
      if ((int64_t)term.size() != rank && rank >= 0)
        return fail(why, "einsum term '" + term + "' does not match rank " +
                             llvm::Twine(rank));
      out = term.str();
      return success();
    }
    int64_t named = term.size() - 3;
    int64_t e = rank >= 0 ? rank - named : ellRank;
    if (e < 0 || e > (int64_t)spare.size())
      return fail(why, "einsum term '" + term + "' does not match rank " +
                           llvm::Twine(rank));
    if (rank >= 0)
      ellRank = std::max(ellRank, e);
    out = term.substr(0, pos).str() +
          spare.substr(spare.size() - e, e) + term.substr(pos + 3).str();
    return success();
  };
  for (auto [t, r] : llvm::zip(terms, ranks)) {
    std::string out;
    if (failed(expand(t, r, out)))
      return failure();
    spec.inputs.push_back(out);
  }
  if (explicitOut) {
    if (failed(expand(rhsPart, -1, spec.output)))
      return failure();
  } else {
    // Implicit output: ellipsis dims, then letters seen once, alphabetically.
    std::map<char, int> count;
    for (const std::string &t : spec.inputs)
      for (char c : t)
        count[c]++;
    spec.output = spare.substr(spare.size() - ellRank, ellRank);
    for (auto [c, n] : count)
      if (n == 1 && spare.find(c) == std::string::npos)
        spec.output += c;
  }
  return spec;
}

FailureOr<Shape> einsumShape(const EinsumSpec &spec,
                             ArrayRef<ArrayRef<int64_t>> inputs,
                             std::string &why) {
  std::map<char, int64_t> dims;
  if (spec.inputs.size() != inputs.size()) {
    (void)fail(why, "einsum term count does not match the inputs");
    return failure();
  }
  for (auto [term, shape] : llvm::zip(spec.inputs, inputs)) {
    if (term.size() != shape.size()) {
      (void)fail(why, "einsum term '" + term + "' does not match shape " +
                          shapeStr(shape));
      return failure();
    }
    for (auto [c, d] : llvm::zip(term, shape)) {
      auto [it, inserted] = dims.insert({c, d});
      if (!inserted && it->second != d) {
        if (it->second == 1)
          it->second = d;
        else if (d != 1) {
          (void)fail(why, "einsum index '" + llvm::Twine(c) +
                              "' has sizes " + llvm::Twine(it->second) +
                              " and " + llvm::Twine(d));
          return failure();
        }
      }
    }
  }
  Shape out;
  for (char c : spec.output) {
    auto it = dims.find(c);
    if (it == dims.end()) {
      (void)fail(why, "einsum output index '" + llvm::Twine(c) +
                          "' appears in no input");
      return failure();
    }
    out.push_back(it->second);
  }
  return out;
}

std::string einsumStr(const EinsumSpec &spec) {
  return llvm::join(spec.inputs, ",") + "->" + spec.output;
}

} // namespace mlir::ditc
