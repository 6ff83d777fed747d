//===- Profile.cpp - `ditc profile` ---------------------------------------===//
//
// Imports a model, legalises it exactly as code generation does (so the
// schedule and the arena are the ones the compiled library has), and prints
// the MAP profile. Nothing is executed and no weight byte is read.
//
// With --symbolic NAME,... the totals are given as polynomials in those
// named input dimensions: the graph is profiled on a grid of sizes (multiples
// of each NAME's --dim value), the polynomial through those points is found
// exactly (rational arithmetic), and it is checked at one more size; a total
// that is not such a polynomial (a peak that changes place) is reported so.
//
//===----------------------------------------------------------------------===//

#include "lib/Driver/Driver.h"
#include "lib/Driver/PlanSearch.h"
#include "lib/Driver/ProfileReport.h"

#include "lib/InitAll.h"
#include "lib/Support/Diagnostics.h"
#include "lib/Target/Passes.h"
#include "dialects/Ditc/IR/DitcSharding.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "passes/Pipelines.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/ToolOutputFile.h"

#include <nlohmann/json.hpp>

#include <chrono>

using namespace mlir;
using namespace mlir::ditc;

namespace {

/// Legalises as code generation does, so the schedule and arena match.
LogicalResult legalize(MLIRContext &ctx, ModuleOp module, StringRef model) {
  OneLineDiagnosticHandler diag(&ctx, model.str());
  PassManager pm(&ctx, ModuleOp::getOperationName());
  pm.addPass(createLegalizeRuntimePass());
  if (failed(pm.run(module)) || diag.errorCount())
    return failure();
  return success();
}

/// Imports and legalises; null on failure (the error is printed).
OwningOpRef<ModuleOp> loadForProfile(MLIRContext &ctx,
                                     const ProfileCommandOptions &opts,
                                     ArrayRef<std::string> dims) {
  OwningOpRef<ModuleOp> module =
      importModel(ctx, opts.model, opts.shapes, true, opts.binds, dims);
  if (!module || failed(legalize(ctx, *module, opts.model)))
    return nullptr;
  return module;
}

/// The dtype of the graph's floating-point compute: the element type of the
/// first floating-point op result (f32 for the exported fixtures).
std::string graphDtype(ModuleOp module) {
  std::string dtype = "f32";
  module.walk([&](Operation *op) {
    for (Type t : op->getResultTypes())
      if (auto r = dyn_cast<RankedTensorType>(t))
        if (auto f = dyn_cast<FloatType>(r.getElementType())) {
          dtype = f.isBF16() ? "bf16" : f.isF16() ? "f16" : f.isF64() ? "f64" : "f32";
          return WalkResult::interrupt();
        }
    return WalkResult::advance();
  });
  return dtype;
}

//===-- exact rationals and polynomial fitting ----------------------------===//

using i128 = __int128;

i128 gcd128(i128 a, i128 b) {
  if (a < 0)
    a = -a;
  if (b < 0)
    b = -b;
  while (b) {
    i128 t = a % b;
    a = b;
    b = t;
  }
  return a;
}

struct Rational {
  i128 n = 0, d = 1;
  Rational() = default;
  Rational(i128 num, i128 den = 1) : n(num), d(den) {
    if (d < 0)
      n = -n, d = -d;
    i128 g = gcd128(n, d);
    if (g > 1)
      n /= g, d /= g;
  }
  Rational operator+(const Rational &o) const {
    i128 g = gcd128(d, o.d);
    return Rational(n * (o.d / g) + o.n * (d / g), d / g * o.d);
  }
  Rational operator-(const Rational &o) const { return *this + Rational(-o.n, o.d); }
  Rational operator*(const Rational &o) const {
    i128 g1 = gcd128(n, o.d), g2 = gcd128(o.n, d);
    return Rational((n / g1) * (o.n / g2), (d / g2) * (o.d / g1));
  }
  Rational operator/(const Rational &o) const { return *this * Rational(o.d, o.n); }
  bool isZero() const { return n == 0; }
  bool operator==(const Rational &o) const { return n == o.n && d == o.d; }
};

std::string toString(i128 v) {
  if (v == 0)
    return "0";
  bool neg = v < 0;
  std::string s;
  while (v) {
    int digit = int(v % 10);
    s += char('0' + (digit < 0 ? -digit : digit));
    v /= 10;
  }
  if (neg)
    s += '-';
  return {s.rbegin(), s.rend()};
}

/// Monomial coefficients of the degree-(n-1) polynomial through (u_k, y_k),
/// u_k = 1..n (Gaussian elimination on the Vandermonde matrix).
std::vector<Rational> interpolate(const std::vector<Rational> &y) {
  size_t n = y.size();
  std::vector<std::vector<Rational>> a(n, std::vector<Rational>(n + 1));
  for (size_t r = 0; r < n; ++r) {
    Rational p(1);
    for (size_t c = 0; c < n; ++c) {
      a[r][c] = p;
      p = p * Rational(i128(r + 1));
    }
    a[r][n] = y[r];
  }
  for (size_t c = 0; c < n; ++c) {
    size_t piv = c;
    while (a[piv][c].isZero())
      ++piv;
    std::swap(a[c], a[piv]);
    for (size_t r = 0; r < n; ++r) {
      if (r == c || a[r][c].isZero())
        continue;
      Rational f = a[r][c] / a[c][c];
      for (size_t k = c; k <= n; ++k)
        a[r][k] = a[r][k] - f * a[c][k];
    }
  }
  std::vector<Rational> coef(n);
  for (size_t c = 0; c < n; ++c)
    coef[c] = a[c][n] / a[c][c];
  return coef;
}

/// A polynomial in V variables: coefficient per exponent tuple (row-major
/// over exponents 0..degree of each variable).
struct Polynomial {
  int vars = 0, degree = 0;
  std::vector<Rational> coef;

  Rational eval(ArrayRef<int64_t> x) const {
    Rational sum;
    size_t terms = coef.size();
    for (size_t t = 0; t < terms; ++t) {
      if (coef[t].isZero())
        continue;
      Rational term = coef[t];
      size_t rest = t;
      for (int v = vars - 1; v >= 0; --v) {
        int e = int(rest % (degree + 1));
        rest /= degree + 1;
        for (int k = 0; k < e; ++k)
          term = term * Rational(i128(x[v]));
      }
      sum = sum + term;
    }
    return sum;
  }

  std::string str(ArrayRef<std::string> names) const {
    std::vector<std::pair<int, std::string>> parts; // (total degree, text)
    for (size_t t = 0; t < coef.size(); ++t) {
      if (coef[t].isZero())
        continue;
      std::string mono;
      int total = 0;
      size_t rest = t;
      std::vector<int> e(vars);
      for (int v = vars - 1; v >= 0; --v) {
        e[v] = int(rest % (degree + 1));
        rest /= degree + 1;
      }
      for (int v = 0; v < vars; ++v) {
        total += e[v];
        if (e[v])
          mono += (mono.empty() ? "" : "*") + names[v] +
                  (e[v] > 1 ? "^" + std::to_string(e[v]) : "");
      }
      std::string c = toString(coef[t].n) +
                      (coef[t].d != 1 ? "/" + toString(coef[t].d) : "");
      parts.push_back({total, mono.empty() ? c
                              : c == "1"   ? mono
                                           : c + "*" + mono});
    }
    if (parts.empty())
      return "0";
    std::stable_sort(parts.begin(), parts.end(),
                     [](auto &a, auto &b) { return a.first > b.first; });
    std::string s;
    for (auto &[d, text] : parts) {
      if (s.empty())
        s = text;
      else if (text[0] == '-')
        s += " - " + text.substr(1);
      else
        s += " + " + text;
    }
    return s;
  }
};

/// Fits `samples` (one value per grid point, grid u_v = 1..degree+1 per
/// variable, row-major) as a polynomial in x_v = base_v * u_v.
Polynomial fit(const std::vector<Rational> &samples, int vars, int degree,
               ArrayRef<int64_t> base) {
  int n = degree + 1;
  std::vector<Rational> c = samples;
  // Interpolate along each variable in turn (tensor-product grid).
  size_t total = c.size();
  for (int v = 0; v < vars; ++v) {
    size_t stride = 1;
    for (int w = v + 1; w < vars; ++w)
      stride *= n;
    for (size_t start = 0; start < total; ++start) {
      if ((start / stride) % n != 0)
        continue;
      std::vector<Rational> line(n);
      for (int k = 0; k < n; ++k)
        line[k] = c[start + k * stride];
      std::vector<Rational> coef = interpolate(line);
      for (int k = 0; k < n; ++k)
        c[start + k * stride] = coef[k];
    }
  }
  // From u = x / base back to x: divide by base^e.
  Polynomial p{vars, degree, c};
  for (size_t t = 0; t < total; ++t) {
    size_t rest = t;
    for (int v = vars - 1; v >= 0; --v) {
      int e = int(rest % n);
      rest /= n;
      for (int k = 0; k < e; ++k)
        p.coef[t] = p.coef[t] / Rational(i128(base[v]));
    }
  }
  return p;
}

struct Totals {
  std::vector<std::pair<std::string, int64_t>> values;
};

Totals totalsOf(const Profile &p) {
  const ProfileTotals &t = p.totals();
  return {{{"param_elements", t.paramElements()},
           {"flops.matrix", t.flopsMatrix},
           {"flops.other", t.flopsOther},
           {"bytes", t.bytesRead + t.bytesWritten},
           {"input_bytes", t.inputBytes},
           {"output_bytes", t.outputBytes},
           {"activation_peak_bytes", t.arenaBytes},
           {"activation_peak_live_bytes", t.peakLiveBytes}}};
}

int runSymbolic(const ProfileCommandOptions &opts) {
  // The named dimensions and their base sizes.
  llvm::StringMap<int64_t> base;
  std::vector<std::string> otherDims;
  for (const std::string &d : opts.dims) {
    auto [name, value] = StringRef(d).split('=');
    int64_t v;
    if (value.trim().getAsInteger(10, v) || v <= 0) {
      llvm::errs() << "error: --dim expects NAME=N with N > 0 but got '" << d
                   << "'\n";
      return 1;
    }
    base[name] = v;
  }
  std::vector<std::string> names;
  std::vector<int64_t> bases;
  for (const std::string &s : opts.symbolic) {
    if (!base.count(s)) {
      llvm::errs() << "error: --symbolic " << s << ": give --dim " << s
                   << "=N, the smallest size to sample (sizes N, 2N, ... are "
                      "profiled)\n";
      return 1;
    }
    if (llvm::is_contained(names, s)) {
      llvm::errs() << "error: --symbolic names '" << s << "' twice\n";
      return 1;
    }
    names.push_back(s);
    bases.push_back(base[s]);
  }
  for (const std::string &d : opts.dims)
    if (!llvm::is_contained(names, StringRef(d).split('=').first.str()))
      otherDims.push_back(d);
  int vars = int(names.size());
  if (vars == 0 || vars > 3) {
    llvm::errs() << "error: --symbolic takes one to three named dimensions\n";
    return 1;
  }
  int degree = vars == 1 ? 4 : vars == 2 ? 3 : 2;
  int n = degree + 1;
  size_t points = 1;
  for (int v = 0; v < vars; ++v)
    points *= n;

  DialectRegistry registry;
  registerAllDialects(registry);
  MLIRContext ctx(registry);
  auto profileAt = [&](ArrayRef<int64_t> x) -> std::optional<Totals> {
    std::vector<std::string> dims = otherDims;
    for (int v = 0; v < vars; ++v)
      dims.push_back(names[v] + "=" + std::to_string(x[v]));
    OwningOpRef<ModuleOp> module = loadForProfile(ctx, opts, dims);
    if (!module)
      return std::nullopt;
    Profile p(*module);
    return totalsOf(p);
  };

  std::vector<Totals> samples;
  for (size_t t = 0; t < points; ++t) {
    SmallVector<int64_t> x(vars);
    size_t rest = t;
    for (int v = vars - 1; v >= 0; --v) {
      x[v] = bases[v] * int64_t(rest % n + 1);
      rest /= n;
    }
    std::optional<Totals> s = profileAt(x);
    if (!s)
      return 1;
    samples.push_back(*s);
  }
  SmallVector<int64_t> check(vars);
  for (int v = 0; v < vars; ++v)
    check[v] = bases[v] * (n + 1);
  std::optional<Totals> atCheck = profileAt(check);
  if (!atCheck)
    return 1;

  nlohmann::ordered_json exprs;
  std::string err;
  auto out = openOutputFile(opts.output, &err);
  if (!out)
    return llvm::errs() << "error: " << opts.output << ": " << err << "\n", 1;
  llvm::raw_ostream &os = out->os();
  if (opts.format == "table") {
    os << "ditc profile: " << opts.model << ", totals as polynomials in ";
    llvm::interleaveComma(names, os);
    os << llvm::formatv(" (fitted on {0} sizes, degree <= {1} per name, "
                        "checked at ",
                        points, degree);
    for (int v = 0; v < vars; ++v)
      os << (v ? ", " : "") << names[v] << "=" << check[v];
    os << ")\n\n";
  }
  for (size_t q = 0; q < samples[0].values.size(); ++q) {
    std::vector<Rational> ys;
    for (const Totals &s : samples)
      ys.push_back(Rational(i128(s.values[q].second)));
    Polynomial p = fit(ys, vars, degree, bases);
    const std::string &key = samples[0].values[q].first;
    bool ok = p.eval(check) == Rational(i128(atCheck->values[q].second));
    std::string text = ok ? p.str(names)
                          : "not a polynomial of degree <= " +
                                std::to_string(degree) +
                                " in the sampled sizes";
    exprs[key] = text;
    if (opts.format == "table")
      os << llvm::formatv("  {0,-28} = {1}\n", key, text);
  }
  if (opts.format == "json") {
    nlohmann::ordered_json j;
    j["model"] = opts.model;
    j["symbols"] = names;
    j["degree"] = degree;
    j["samples"] = points;
    j["expressions"] = exprs;
    os << j.dump(1) << "\n";
  } else if (opts.format != "table") {
    llvm::errs() << "error: --symbolic prints table or json, not "
                 << opts.format << "\n";
    return 1;
  }
  out->keep();
  return 0;
}

} // namespace

int mlir::ditc::runProfileCommand(const ProfileCommandOptions &opts) {
  static const char *formats[] = {"table", "json", "svg"};
  if (!llvm::is_contained(formats, StringRef(opts.format))) {
    llvm::errs() << "error: unknown --format '" << opts.format
                 << "' (expected table, json or svg)\n";
    return 1;
  }
  static const char *dtypes[] = {"", "f32", "tf32", "bf16", "f16", "fp8"};
  if (!llvm::is_contained(dtypes, StringRef(opts.dtype))) {
    llvm::errs() << "error: unknown --dtype '" << opts.dtype
                 << "' (expected f32, tf32, bf16, f16 or fp8)\n";
    return 1;
  }
  FailureOr<int64_t> activationLimit = parseActivationLimit(opts.activationLimit);
  if (failed(activationLimit))
    return 1;
  std::string err;
  std::optional<HardwareDesc> hw = loadHardware(opts.hw, err);
  if (!hw) {
    llvm::errs() << "error: --hw: " << err << "\n";
    return 1;
  }
  if (!opts.symbolic.empty()) {
    if (!opts.plan.empty()) {
      llvm::errs() << "error: --symbolic profiles one device; it does not take --plan\n";
      return 1;
    }
    return runSymbolic(opts);
  }

  DialectRegistry registry;
  registerAllDialects(registry);
  MLIRContext ctx(registry);
  auto start = std::chrono::steady_clock::now();
  OwningOpRef<ModuleOp> module =
      importModel(ctx, opts.model, opts.shapes, true, opts.binds, opts.dims);
  if (!module)
    return 1;
  auto imported = std::chrono::steady_clock::now();
  int64_t worldFlops = -1;
  if (!opts.plan.empty()) {
    // One rank's program: its shapes, its weights and its collectives.
    OneLineDiagnosticHandler diag(&ctx, opts.model);
    if (failed(partitionForPlan(*module, opts.plan, opts.devices, &worldFlops, /*verify=*/true,
                                stagePricesFor(*hw, opts.dtype, opts.devices), &*hw,
                                opts.dtype)))
      return 1;
  }
  // bf16 and f16 convert the program as `ditc compile --dtype` does, so
  // that its weights, arena and chunk loops are those of the library (tf32
  // and fp8 only pick the time model's rates).
  if (opts.dtype == "bf16" || opts.dtype == "f16") {
    OneLineDiagnosticHandler diag(&ctx, opts.model);
    if (failed(applyPrecision(*module, opts.dtype, "")))
      return 1;
  }
  if (failed(legalize(ctx, *module, opts.model)))
    return 1;
  if (failed(applyChunking(*module, *activationLimit, opts.hw, opts.model)))
    return 1;
  FailureOr<Mesh> mesh = Mesh::of(*module);
  if (opts.rank < 0 || (succeeded(mesh) && opts.rank >= mesh->numRanks()) ||
      (opts.rank > 0 && opts.plan.empty())) {
    llvm::errs() << "error: --rank " << opts.rank << " is not a rank of "
                 << (opts.plan.empty() ? "a one-rank profile (give --plan)"
                                       : "plan '" + opts.plan + "'")
                 << "\n";
    return 1;
  }
  // The machine's links for the plan's ranks (a CPU's shared memory holds
  // every rank of the machine).
  if (succeeded(mesh) && mesh->numRanks() > 1 &&
      failed(applyTopology(*hw, mesh->numRanks(), 0, 0, err))) {
    llvm::errs() << "error: " << err << "\n";
    return 1;
  }
  if (opts.schedule != "stale" && opts.schedule != "synchronous") {
    llvm::errs() << "error: --schedule " << opts.schedule
                 << " is not a schedule (stale or synchronous)\n";
    return 1;
  }
  Profile profile(*module, opts.rank, opts.schedule == "stale" ? 1 : 0);
  if (!profile.isValid()) {
    llvm::errs() << "error: " << opts.model << ": no single-block @main\n";
    return 1;
  }
  TimeOptions timeOptions;
  // bf16 and f16 converted the program above: its byte counts are already
  // the dtype's (its first float value may still be an f32 input).
  std::string graph =
      opts.dtype == "bf16" || opts.dtype == "f16" ? opts.dtype : graphDtype(*module);
  timeOptions.dtype = opts.dtype.empty() ? graph : opts.dtype;
  // A narrower compute type than the graph's moves proportionally fewer bytes.
  auto width = [](StringRef d) {
    return d == "f64" ? 8.0 : d == "f32" || d == "tf32" ? 4.0 : d == "fp8" ? 1.0 : 2.0;
  };
  timeOptions.bytesScale = width(timeOptions.dtype) / width(graph);
  ProfileReport report(opts.model, profile, *hw, timeOptions);
  report.worldFlops = worldFlops;
  auto done = std::chrono::steady_clock::now();

  auto out = openOutputFile(opts.output, &err);
  if (!out)
    return llvm::errs() << "error: " << opts.output << ": " << err << "\n", 1;
  if (opts.format == "json")
    printProfileJson(report, out->os());
  else if (opts.format == "svg")
    printProfileSvg(report, out->os());
  else
    printProfileTable(report, out->os(), opts.top);
  out->keep();
  llvm::errs() << llvm::formatv(
      "ditc: profiled {0} (import {1:F2} s, profile {2:F3} s)\n", opts.model,
      std::chrono::duration<double>(imported - start).count(),
      std::chrono::duration<double>(done - imported).count());
  return 0;
}
