//===- RedundancyReportTest.cpp - `ditc redundancy`'s four renderings ----===//
//
// A small hand-made report (two layers, S = 5 denoising steps, two input
// sets, one NaN, one inf, one zero) rendered as a table, JSON, SVG and HTML.
//
//===----------------------------------------------------------------------===//

#include "lib/Driver/RedundancyReport.h"

#include "llvm/ADT/StringRef.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <limits>

using namespace mlir::ditc;
using json = nlohmann::ordered_json;

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

RedundancyReport sample() {
  RedundancyReport r;
  r.library = "libtiny.so";
  r.scheduler = "ddim";
  r.steps = 5;
  r.warmupSteps = 1;
  r.inputSets = {"a.npz", "b.npz"};
  r.timesteps = {800, 600, 400, 200, 0};
  r.layers = {
      {"block A.0.attn0",
       {{"k", {0.5, 0.25, 0.125, 0.0625}, {1.0 / 3, 0.2, 0.3, 0.4}},
        {"v", {kNaN, 0.2, 0.1, 0.05}, {kNaN, 0.01, 0.02, 0.03}},
        {"out", {0.3, kInf, 0.02, 0.01}, {0.05, kNaN, 0.15, 0.25}}}},
      {"block A.0",
       {{"residual", {0.04, 0.03, 0.02, 0.01}, {0.5, 0.6, 0.7, 0.8}},
        {"residual_text", {0.05, 0, 0.04, 0.03}, {}}}},
  };
  return r;
}

/// One layer with a single "k" series over `steps` denoising steps.
RedundancyReport longRun(int steps) {
  RedundancyReport r;
  r.library = "libtiny.so";
  r.scheduler = "euler";
  r.steps = steps;
  r.inputSets = {"a.npz"};
  RedundancySeries k{"k", {}, {}};
  for (int i = 1; i < steps; ++i)
    k.mean.push_back(i / 100.0);
  r.layers = {{"block A.0.attn0", {k}}};
  return r;
}

template <typename Fn> std::string render(Fn fn, const RedundancyReport &r) {
  std::string s;
  llvm::raw_string_ostream os(s);
  fn(r, os);
  return s;
}

std::vector<std::string> lines(const std::string &s) {
  llvm::SmallVector<llvm::StringRef> parts;
  llvm::StringRef(s).split(parts, '\n');
  return {parts.begin(), parts.end()};
}

size_t occurrences(const std::string &s, const std::string &what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1))
    ++n;
  return n;
}

std::vector<std::string> keys(const json &j) {
  std::vector<std::string> ks;
  for (auto it = j.begin(); it != j.end(); ++it)
    ks.push_back(it.key());
  return ks;
}

/// Whether every element of `xml` closes, innermost first (the writer never
/// puts '<' or '>' inside attributes or text).
bool balanced(const std::string &xml) {
  std::vector<std::string> open;
  for (size_t p = xml.find('<'); p != std::string::npos;
       p = xml.find('<', p + 1)) {
    size_t e = xml.find('>', p);
    if (e == std::string::npos)
      return false;
    std::string tag = xml.substr(p + 1, e - p - 1);
    std::string name = tag.substr(0, tag.find_first_of(" /"));
    if (tag.back() == '/')
      continue;
    if (tag[0] != '/')
      open.push_back(name);
    else if (open.empty() || open.back() != tag.substr(1))
      return false;
    else
      open.pop_back();
  }
  return open.empty();
}

} // namespace

TEST(RedundancyReport, TableRowsAndColumns) {
  std::string t = render(writeRedundancyTable, sample());
  std::vector<std::string> ls = lines(t);
  // Five header lines, a blank one, the column header and 9 rows (3 + 3 cv
  // in the first layer; residual, its cv and residual_text without one).
  ASSERT_EQ(ls.size(), 17u);
  EXPECT_EQ(ls.back(), "");
  EXPECT_EQ(ls[0], "ditc redundancy: libtiny.so");
  EXPECT_EQ(ls[1], "  sampler      ddim, 5 steps, 1 warm-up steps");
  EXPECT_EQ(ls[2], "  input sets   a.npz, b.npz");
  EXPECT_EQ(ls[3], "  values       relative L1 change from the previous "
                   "denoising step (mean over the input sets)");
  EXPECT_EQ(ls[4], "  cv rows      standard deviation / mean across the input "
                   "sets");
  EXPECT_EQ(ls[5], "");
  EXPECT_EQ(ls[6], "  layer            quantity         step 1    step 2"
                   "    step 3    step 4");
  EXPECT_EQ(ls[7], "  block A.0.attn0  k                   0.5      0.25"
                   "     0.125    0.0625");
  EXPECT_EQ(ls[8], "                   cv k              0.333       0.2"
                   "       0.3       0.4");
  EXPECT_EQ(ls[9], "                   v                     -       0.2"
                   "       0.1      0.05");
  EXPECT_EQ(ls[11], "                   out                 0.3       inf"
                    "      0.02      0.01");
  EXPECT_EQ(ls[12], "                   cv out             0.05         -"
                    "      0.15      0.25");
  EXPECT_EQ(ls[13], "  block A.0        residual           0.04      0.03"
                    "      0.02      0.01");
  EXPECT_EQ(ls[15], "                   residual_text      0.05         0"
                    "      0.04      0.03");
  EXPECT_EQ(t.find("showing"), std::string::npos);
}

TEST(RedundancyReport, TableShowsTwelveOfManySteps) {
  std::string t = render(writeRedundancyTable, longRun(40));
  std::vector<std::string> ls = lines(t);
  // One input set: no cv rows, and no word of them in the header.
  ASSERT_EQ(ls.size(), 9u);
  EXPECT_EQ(ls[3], "  values       relative L1 change from the previous "
                   "denoising step");
  EXPECT_EQ(ls[5], "  showing 12 of 39 denoising steps (the JSON has all)");
  // Steps 1 + round(i * 38 / 11), i = 0 .. 11.
  std::string header = "  layer            quantity";
  std::string row = "  block A.0.attn0  k       ";
  for (int s : {1, 4, 8, 11, 15, 18, 22, 25, 29, 32, 36, 39}) {
    std::string h = "step " + std::to_string(s), v = std::to_string(s);
    v = s < 10 ? "0.0" + v : "0." + v;
    header += " " + std::string(9 - h.size(), ' ') + h;
    row += " " + std::string(9 - v.size(), ' ') + v;
  }
  EXPECT_EQ(ls[6], header);
  EXPECT_EQ(ls[7], row);
  EXPECT_EQ(occurrences(t, "step "), 12u);

  // Twelve steps fit: all of them, no note.
  t = render(writeRedundancyTable, longRun(13));
  EXPECT_EQ(occurrences(t, "step "), 12u);
  EXPECT_EQ(t.find("showing"), std::string::npos);
  EXPECT_NE(t.find("step 12\n"), std::string::npos);
}

TEST(RedundancyReport, JsonKeysAndValues) {
  std::string text = render(writeRedundancyJson, sample());
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  json j = json::parse(text);
  EXPECT_EQ(keys(j), (std::vector<std::string>{"library", "scheduler", "steps",
                                               "warmup_steps", "input_sets",
                                               "timesteps", "layers"}));
  EXPECT_EQ(j["library"], "libtiny.so");
  EXPECT_EQ(j["scheduler"], "ddim");
  EXPECT_EQ(j["steps"], 5);
  EXPECT_EQ(j["warmup_steps"], 1);
  EXPECT_EQ(j["input_sets"], json({"a.npz", "b.npz"}));
  EXPECT_EQ(j["timesteps"], json({800.0, 600.0, 400.0, 200.0, 0.0}));
  ASSERT_EQ(j["layers"].size(), 2u);

  const json &a = j["layers"][0];
  EXPECT_EQ(keys(a), (std::vector<std::string>{"name", "k", "v", "out", "cv_k",
                                               "cv_v", "cv_out"}));
  EXPECT_EQ(a["name"], "block A.0.attn0");
  EXPECT_EQ(a["k"], json({0.5, 0.25, 0.125, 0.0625}));
  // Full precision: 1/3 comes back bit for bit.
  EXPECT_EQ(a["cv_k"][0].get<double>(), 1.0 / 3);
  EXPECT_EQ(a["v"], json({nullptr, 0.2, 0.1, 0.05}));
  EXPECT_EQ(a["cv_v"], json({nullptr, 0.01, 0.02, 0.03}));
  EXPECT_EQ(a["out"], json({0.3, nullptr, 0.02, 0.01}));
  EXPECT_EQ(a["cv_out"], json({0.05, nullptr, 0.15, 0.25}));

  const json &b = j["layers"][1];
  EXPECT_EQ(keys(b), (std::vector<std::string>{
                         "name", "residual", "residual_text", "cv_residual"}));
  EXPECT_EQ(b["residual_text"], json({0.05, 0.0, 0.04, 0.03}));
  for (const json &l : j["layers"])
    for (auto it = l.begin(); it != l.end(); ++it)
      if (it.key() != "name")
        EXPECT_EQ(it.value().size(), 4u) << it.key();
}

TEST(RedundancyReport, SvgLinesAndScale) {
  std::string s = render(writeRedundancySvg, sample());
  EXPECT_EQ(s.rfind("<svg ", 0), 0u);
  ASSERT_GE(s.size(), 7u);
  EXPECT_EQ(s.substr(s.size() - 7), "</svg>\n");
  EXPECT_TRUE(balanced(s));
  // k, v (after its NaN), out (after its inf), residual, residual_text
  // (after its 0); out's 0.3 and residual_text's 0.05 stand alone.
  EXPECT_EQ(occurrences(s, "<polyline"), 5u);
  EXPECT_EQ(occurrences(s, "<circle"), 2u);
  // residual_text is dashed in the legend and on its plot.
  EXPECT_EQ(occurrences(s, "stroke-dasharray"), 2u);
  EXPECT_EQ(occurrences(s, "stroke=\"#d62728\""), 4u);
  // Five legend entries.
  EXPECT_EQ(occurrences(s, "y1=\"34\""), 5u);
  // 0.01 .. 0.5: decades 1e-2 .. 1e0, labelled on the left plot only.
  EXPECT_EQ(occurrences(s, ">1e-2</text>"), 1u);
  EXPECT_EQ(occurrences(s, ">1e-1</text>"), 1u);
  EXPECT_EQ(occurrences(s, ">1e0</text>"), 1u);
  EXPECT_EQ(occurrences(s, ">1e-3</text>"), 0u);
  EXPECT_EQ(occurrences(s, ">1e1</text>"), 0u);
  // k of the first plot: x 54 .. 220 over steps 1 .. 4, y 176 - 52 (log10 +
  // 2).
  EXPECT_NE(s.find("points=\"54.0,87.7 109.3,103.3 164.7,119.0 220.0,134.6\""),
            std::string::npos);
}

TEST(RedundancyReport, SvgEscapesAndDefaultScale) {
  RedundancyReport r = sample();
  r.library = "lib&.so";
  r.layers[1].name = "attn <&> \"x\"";
  std::string s = render(writeRedundancySvg, r);
  EXPECT_TRUE(balanced(s));
  EXPECT_NE(s.find(">attn &lt;&amp;&gt; &quot;x&quot;</text>"),
            std::string::npos);
  EXPECT_NE(s.find(">lib&amp;.so: "), std::string::npos);
  EXPECT_EQ(s.find("<&>"), std::string::npos);

  // Nothing plottable: decades 1e-3 .. 1e0, no lines.
  RedundancyReport empty = longRun(4);
  empty.layers[0].series[0].mean = {kNaN, 0, -1};
  s = render(writeRedundancySvg, empty);
  EXPECT_TRUE(balanced(s));
  EXPECT_EQ(occurrences(s, "<polyline"), 0u);
  EXPECT_EQ(occurrences(s, "<circle"), 0u);
  for (const char *label :
       {">1e-3</text>", ">1e-2</text>", ">1e-1</text>", ">1e0</text>"})
    EXPECT_EQ(occurrences(s, label), 1u) << label;
}

TEST(RedundancyReport, HtmlHoldsSvgAndTable) {
  RedundancyReport r = sample();
  std::string h = render(writeRedundancyHtml, r);
  EXPECT_EQ(h.rfind("<!DOCTYPE html>\n", 0), 0u);
  EXPECT_NE(h.find("<title>ditc redundancy: libtiny.so</title>"),
            std::string::npos);
  EXPECT_NE(h.find("<h1>ditc redundancy: libtiny.so</h1>"), std::string::npos);
  EXPECT_NE(h.find("<p>Sampler ddim, 5 steps, 1 warm-up steps; input sets: "
                   "a.npz, b.npz."),
            std::string::npos);
  EXPECT_NE(h.find(render(writeRedundancySvg, r)), std::string::npos);
  EXPECT_NE(h.find("<pre>\n" + render(writeRedundancyTable, r) + "</pre>"),
            std::string::npos);
  EXPECT_EQ(h.substr(h.size() - 8), "</html>\n");

  r.layers[0].name = "a<b>&c";
  h = render(writeRedundancyHtml, r);
  EXPECT_NE(h.find("\n  a&lt;b&gt;&amp;c  "), std::string::npos);
  EXPECT_EQ(h.find("a<b>"), std::string::npos);
}
