//===- RedundancyReport.cpp - what `ditc redundancy` prints ---------------===//

#include "lib/Driver/RedundancyReport.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

using namespace mlir::ditc;
using json = nlohmann::ordered_json;

namespace {

/// The most step columns the table shows.
constexpr size_t kMaxColumns = 12;

std::string escape(llvm::StringRef s) {
  std::string o;
  for (char c : s)
    o += c == '<'   ? "&lt;"
         : c == '>' ? "&gt;"
         : c == '&' ? "&amp;"
         : c == '"' ? "&quot;"
                    : std::string(1, c);
  return o;
}

/// Three significant digits; "-" for NaN (undefined), "inf" for inf.
std::string number(double v) {
  if (std::isnan(v))
    return "-";
  if (std::isinf(v))
    return v > 0 ? "inf" : "-inf";
  std::string s;
  llvm::raw_string_ostream(s) << llvm::format("%.3g", v);
  return s;
}

json numbers(const std::vector<double> &v) {
  json a = json::array();
  for (double x : v)
    a.push_back(std::isfinite(x) ? json(x) : json(nullptr));
  return a;
}

/// What the log-scale plots can show.
bool plottable(double v) { return std::isfinite(v) && v > 0; }

/// A quantity's line colour; "<q>_text" shares "<q>"'s and is dashed.
const char *colourOf(llvm::StringRef quantity) {
  quantity.consume_back("_text");
  return llvm::StringSwitch<const char *>(quantity)
      .Case("k", "#1f77b4")
      .Case("v", "#ff7f0e")
      .Case("out", "#2ca02c")
      .Case("residual", "#d62728")
      .Default("#7f7f7f");
}

const char *dashOf(llvm::StringRef quantity) {
  return quantity.ends_with("_text") ? " stroke-dasharray=\"4 2\"" : "";
}

std::string samplerText(const RedundancyReport &r) {
  return llvm::formatv("{0}, {1} steps, {2} warm-up steps", r.scheduler,
                       r.steps, r.warmupSteps)
      .str();
}

std::string inputsText(const RedundancyReport &r) {
  return r.inputSets.empty() ? "-" : llvm::join(r.inputSets, ", ");
}

/// The number of denoising steps with a value (S - 1 in a well-formed report).
size_t numValues(const RedundancyReport &r) {
  size_t n = 0;
  for (const RedundancyLayer &l : r.layers)
    for (const RedundancySeries &s : l.series)
      n = std::max(n, s.mean.size());
  return n;
}

/// The quantities in the order they first appear.
std::vector<std::string> quantitiesOf(const RedundancyReport &r) {
  std::vector<std::string> qs;
  for (const RedundancyLayer &l : r.layers)
    for (const RedundancySeries &s : l.series)
      if (!llvm::is_contained(qs, s.quantity))
        qs.push_back(s.quantity);
  return qs;
}

} // namespace

void mlir::ditc::writeRedundancyTable(const RedundancyReport &r,
                                      llvm::raw_ostream &os) {
  bool several = r.inputSets.size() > 1;
  os << llvm::formatv("ditc redundancy: {0}\n", r.library);
  os << llvm::formatv("  sampler      {0}\n", samplerText(r));
  os << llvm::formatv("  input sets   {0}\n", inputsText(r));
  os << llvm::formatv("  values       relative L1 change from the previous "
                      "denoising step{0}\n",
                      several ? " (mean over the input sets)" : "");
  if (several)
    os << "  cv rows      standard deviation / mean across the input sets\n";
  os << "\n";

  // The step columns: all, or kMaxColumns evenly spread from first to last.
  size_t n = numValues(r);
  std::vector<size_t> shown;
  for (size_t i = 0; i < std::min(n, kMaxColumns); ++i)
    shown.push_back(n <= kMaxColumns ? i
                                     : (i * (n - 1) + (kMaxColumns - 1) / 2) /
                                           (kMaxColumns - 1));
  if (shown.size() < n)
    os << llvm::formatv("  showing {0} of {1} denoising steps (the JSON has "
                        "all)\n",
                        shown.size(), n);

  size_t nameW = 5, quantityW = 8;
  for (const RedundancyLayer &l : r.layers) {
    nameW = std::max(nameW, l.name.size());
    for (const RedundancySeries &s : l.series)
      quantityW =
          std::max(quantityW, s.quantity.size() + (s.cv.empty() ? 0 : 3));
  }
  auto row = [&](llvm::StringRef name, llvm::StringRef quantity,
                 llvm::function_ref<std::string(size_t)> cell) {
    os << "  " << llvm::left_justify(name, nameW) << "  "
       << llvm::left_justify(quantity, quantityW);
    for (size_t k : shown)
      os << " " << llvm::right_justify(cell(k), 9);
    os << "\n";
  };
  row("layer", "quantity",
      [](size_t k) { return llvm::formatv("step {0}", k + 1).str(); });
  for (const RedundancyLayer &l : r.layers)
    for (auto [i, s] : llvm::enumerate(l.series)) {
      auto valueAt = [](const std::vector<double> &v) {
        return [&v](size_t k) { return k < v.size() ? number(v[k]) : ""; };
      };
      row(i == 0 ? llvm::StringRef(l.name) : "", s.quantity, valueAt(s.mean));
      if (!s.cv.empty())
        row("", "cv " + s.quantity, valueAt(s.cv));
    }
}

void mlir::ditc::writeRedundancyJson(const RedundancyReport &r,
                                     llvm::raw_ostream &os) {
  json j;
  j["library"] = r.library;
  j["scheduler"] = r.scheduler;
  j["steps"] = r.steps;
  j["warmup_steps"] = r.warmupSteps;
  j["input_sets"] = r.inputSets;
  j["timesteps"] = numbers(r.timesteps);
  json layers = json::array();
  for (const RedundancyLayer &l : r.layers) {
    json layer = {{"name", l.name}};
    for (const RedundancySeries &s : l.series)
      layer[s.quantity] = numbers(s.mean);
    for (const RedundancySeries &s : l.series)
      if (!s.cv.empty())
        layer["cv_" + s.quantity] = numbers(s.cv);
    layers.push_back(std::move(layer));
  }
  j["layers"] = std::move(layers);
  if (!r.cacheKind.empty()) {
    json change = json::array(), skipped = json::array();
    for (const std::vector<double> &c : r.cacheChange)
      change.push_back(numbers(c));
    j["cache"] = {{"kind", r.cacheKind}, {"change", change}, {"skipped", r.cacheSkipped}};
  }
  os << j.dump(1) << "\n";
}

void mlir::ditc::writeRedundancySvg(const RedundancyReport &r,
                                    llvm::raw_ostream &os) {
  // The shared y range: whole decades around every plottable mean.
  double lo = INFINITY, hi = -INFINITY;
  for (const RedundancyLayer &l : r.layers)
    for (const RedundancySeries &s : l.series)
      for (double v : s.mean)
        if (plottable(v)) {
          lo = std::min(lo, std::floor(std::log10(v)));
          hi = std::max(hi, std::ceil(std::log10(v)));
        }
  if (lo > hi)
    lo = -3, hi = 0;
  if (lo == hi)
    hi = lo + 1;

  // A grid of cellW x cellH plots under a title and a legend.
  const int cellW = 220, cellH = 150, margin = 10, gridTop = 50;
  const int padLeft = 44, padRight = 10, padTop = 22, padBottom = 24;
  const int plotW = cellW - padLeft - padRight;
  const int plotH = cellH - padTop - padBottom;
  int cols = std::clamp<int>(r.layers.size(), 1, 4);
  int rows = std::max<int>((r.layers.size() + cols - 1) / cols, 1);
  size_t n = numValues(r);
  os << llvm::formatv("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" "
                      "height=\"{1}\" font-family=\"sans-serif\" "
                      "font-size=\"10\">\n",
                      2 * margin + cols * cellW,
                      gridTop + rows * cellH + margin);
  os << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  os << llvm::formatv("<text x=\"{0}\" y=\"18\" font-size=\"14\">{1}: relative "
                      "L1 change per denoising step</text>\n",
                      margin, escape(r.library));
  size_t lx = margin;
  for (const std::string &q : quantitiesOf(r)) {
    os << llvm::formatv("<line x1=\"{0}\" x2=\"{1}\" y1=\"34\" y2=\"34\" "
                        "stroke=\"{2}\" stroke-width=\"1.5\"{3}/>\n",
                        lx, lx + 20, colourOf(q), dashOf(q));
    os << llvm::formatv("<text x=\"{0}\" y=\"38\">{1}</text>\n", lx + 24,
                        escape(q));
    lx += 24 + 6 * q.size() + 16;
  }

  for (auto [i, l] : llvm::enumerate(r.layers)) {
    int x0 = margin + int(i) % cols * cellW + padLeft;
    int y0 = gridTop + int(i) / cols * cellH + padTop;
    auto x = [&](size_t k) {
      return x0 + (n > 1 ? plotW * double(k) / (n - 1) : plotW / 2.0);
    };
    auto y = [&](double v) {
      return y0 + plotH * (1 - (std::log10(v) - lo) / (hi - lo));
    };
    os << llvm::formatv(
        "<text x=\"{0}\" y=\"{1}\" font-size=\"11\">{2}</text>\n", x0, y0 - 8,
        escape(l.name));
    for (double d = lo; d <= hi; ++d) {
      double yd = y(std::pow(10.0, d));
      os << llvm::formatv("<line x1=\"{0}\" x2=\"{1}\" y1=\"{2:F1}\" "
                          "y2=\"{2:F1}\" stroke=\"#e0e0e0\"/>\n",
                          x0, x0 + plotW, yd);
      if (int(i) % cols == 0)
        os << llvm::formatv("<text x=\"{0}\" y=\"{1:F1}\" text-anchor=\"end\">"
                            "1e{2}</text>\n",
                            x0 - 4, yd + 3, int(d));
    }
    os << llvm::formatv(
        "<rect x=\"{0}\" y=\"{1}\" width=\"{2}\" height=\"{3}\" "
        "fill=\"none\" stroke=\"#999\"/>\n",
        x0, y0, plotW, plotH);
    os << llvm::formatv("<text x=\"{0}\" y=\"{1}\">step 1</text>\n", x0,
                        y0 + plotH + 14);
    if (n > 1)
      os << llvm::formatv("<text x=\"{0}\" y=\"{1}\" text-anchor=\"end\">{2}"
                          "</text>\n",
                          x0 + plotW, y0 + plotH + 14, n);
    // One polyline per run of plottable values; a lone value is a dot.
    for (const RedundancySeries &s : l.series) {
      std::vector<size_t> run;
      auto flush = [&] {
        if (run.size() == 1)
          os << llvm::formatv("<circle cx=\"{0:F1}\" cy=\"{1:F1}\" r=\"2\" "
                              "fill=\"{2}\"/>\n",
                              x(run[0]), y(s.mean[run[0]]),
                              colourOf(s.quantity));
        if (run.size() > 1) {
          std::string points;
          for (size_t k : run)
            points += llvm::formatv("{0:F1},{1:F1} ", x(k), y(s.mean[k])).str();
          points.pop_back();
          os << llvm::formatv("<polyline fill=\"none\" stroke=\"{0}\" "
                              "stroke-width=\"1.5\"{1} points=\"{2}\"/>\n",
                              colourOf(s.quantity), dashOf(s.quantity), points);
        }
        run.clear();
      };
      for (size_t k = 0; k < s.mean.size(); ++k) {
        if (!plottable(s.mean[k]))
          flush();
        else
          run.push_back(k);
      }
      flush();
    }
  }
  os << "</svg>\n";
}

void mlir::ditc::writeRedundancyHtml(const RedundancyReport &r,
                                     llvm::raw_ostream &os) {
  std::string svg, table;
  llvm::raw_string_ostream svgOs(svg), tableOs(table);
  writeRedundancySvg(r, svgOs);
  writeRedundancyTable(r, tableOs);
  std::string title = escape("ditc redundancy: " + r.library);
  os << "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n";
  os << llvm::formatv("<title>{0}</title>\n</head>\n<body>\n", title);
  os << llvm::formatv("<h1>{0}</h1>\n", title);
  os << llvm::formatv("<p>Sampler {0}; input sets: {1}. Each value is the "
                      "relative L1 change of a tensor from the previous "
                      "denoising step.</p>\n",
                      escape(samplerText(r)), escape(inputsText(r)));
  os << svg;
  os << "<pre>\n" << escape(table) << "</pre>\n</body>\n</html>\n";
}
