//===- Mesh.h - The parallel part of a model descriptor ----------*- C++
//-*-===//
//
// A library compiled for several devices (`ditc compile --devices N --plan
// ...`) is one SPMD program that every rank runs. Its descriptor
// (ditc_generated_json) says how the ranks are laid out; every field is
// optional, and without them the library runs on one rank, as before:
//
//   "world_size": 4,
//   "plan": "cfg=2,ulysses=2",
//   "mesh": {"axes": ["cfg", "ulysses"], "shape": [2, 2]},
//   "comm_groups": [[1], [0, 1]],
//   "weights_files": ["m.rank0.safetensors", ...],   (one per world rank)
//   "weights_checksums": ["9f0c...", ...]
//
// Ranks are row-major over the mesh, first axis major: rank = sum over i of
// coord[i] * stride[i]. A comm group is a list of distinct mesh axes; group
// g gives every rank a communicator over the ranks that differ from it only
// on those axes, ranked by their coordinates on them in the group's order
// (mixed radix, the group's first axis major: [ring, ulysses] ranks
// ring-major whichever of the two the mesh lists first). Model.cpp makes it with ditc_rt_comm_split(world,
// color, key): color = this rank's index on the axes NOT in the group, key =
// its index on the axes in the group (groupSplit below). Without "mesh" the
// mesh is one axis, "world", of world_size ranks.
//
// Header-only (nlohmann/json), so that test/Runtime/MeshTest.cpp can check
// it without a generated library.
//
//===----------------------------------------------------------------------===//
#ifndef DITC_RUNTIME_SRC_MODEL_MESH_H
#define DITC_RUNTIME_SRC_MODEL_MESH_H

#include <nlohmann/json.hpp>

#include <cstdint>
#include <algorithm>
#include <string>
#include <vector>

namespace ditc_rt::model {

/// The descriptor's parallel fields.
struct Parallel {
  int32_t worldSize = 1;
  std::string plan;                          // "" for a single-device library
  std::vector<std::string> axes;             // mesh axis names
  std::vector<int32_t> shape;                // mesh axis sizes
  int32_t stageAxis = -1;                    // the pipeline stages' mesh axis, or -1
  std::vector<std::vector<int32_t>> groups;  // comm groups: mesh axes each
  std::vector<std::string> weightsFiles;     // per world rank; may be empty
  std::vector<std::string> weightsChecksums; // per world rank; may be empty
};

/// This rank's coordinates on the mesh (row-major, first axis major).
inline std::vector<int32_t> meshCoords(const std::vector<int32_t> &shape,
                                       int32_t rank) {
  std::vector<int32_t> c(shape.size());
  for (size_t i = shape.size(); i-- > 0;) {
    c[i] = rank % shape[i];
    rank /= shape[i];
  }
  return c;
}

/// The color and key of `rank` for a comm group (distinct mesh axes): color
/// is its mixed-radix index over the other axes (first mesh axis major), key
/// over the group's axes in the group's order (its first axis major).
inline void groupSplit(const std::vector<int32_t> &shape,
                       const std::vector<int32_t> &group, int32_t rank,
                       int32_t *color, int32_t *key) {
  std::vector<int32_t> c = meshCoords(shape, rank);
  std::vector<bool> in(shape.size(), false);
  for (int32_t a : group)
    in[a] = true;
  int32_t col = 0, k = 0;
  for (size_t i = 0; i < shape.size(); ++i)
    if (!in[i])
      col = col * shape[i] + c[i];
  for (int32_t a : group)
    k = k * shape[a] + c[a];
  *color = col;
  *key = k;
}

/// Reads the parallel fields of descriptor `j` into `p`; false with `error`
/// (one line) when they are inconsistent.
inline bool parseParallel(const nlohmann::json &j, Parallel &p,
                          std::string &error) {
  p = Parallel();
  auto bad = [&](const std::string &what) {
    error = "the library's descriptor is inconsistent: " + what;
    return false;
  };
  auto intIn = [](const nlohmann::json &v, int64_t lo, int64_t hi) {
    return v.is_number_integer() && v.get<int64_t>() >= lo &&
           v.get<int64_t>() <= hi;
  };
  if (j.contains("world_size")) {
    if (!intIn(j["world_size"], 1, INT32_MAX))
      return bad("world_size is not a positive integer");
    p.worldSize = j["world_size"].get<int32_t>();
  }
  if (j.contains("plan")) {
    if (!j["plan"].is_string())
      return bad("plan is not a string");
    p.plan = j["plan"].get<std::string>();
  }
  if (j.contains("mesh")) {
    const nlohmann::json &m = j["mesh"];
    if (!m.is_object() || !m.contains("axes") || !m.contains("shape") ||
        !m["axes"].is_array() || !m["shape"].is_array() ||
        m["axes"].size() != m["shape"].size() || m["axes"].empty())
      return bad("mesh needs \"axes\" and \"shape\", lists of one length");
    int64_t n = 1;
    for (size_t i = 0; i < m["axes"].size(); ++i) {
      if (!m["axes"][i].is_string() || !intIn(m["shape"][i], 1, INT32_MAX))
        return bad("mesh axis " + std::to_string(i) +
                   " needs a name and a positive size");
      p.axes.push_back(m["axes"][i].get<std::string>());
      p.shape.push_back(m["shape"][i].get<int32_t>());
      n *= p.shape.back();
      if (n > INT32_MAX)
        return bad("the mesh is too large");
    }
    if (m.contains("stage_axis")) {
      if (!intIn(m["stage_axis"], 0, (int64_t)p.shape.size() - 1))
        return bad("mesh stage_axis is not an axis index");
      p.stageAxis = m["stage_axis"].get<int32_t>();
    }
    if (n != p.worldSize)
      return bad("the mesh holds " + std::to_string(n) +
                 " ranks but world_size is " + std::to_string(p.worldSize));
  } else {
    p.axes = {"world"};
    p.shape = {p.worldSize};
  }
  if (j.contains("comm_groups")) {
    const nlohmann::json &g = j["comm_groups"];
    if (!g.is_array())
      return bad("comm_groups is not a list");
    for (size_t k = 0; k < g.size(); ++k) {
      std::vector<int32_t> axes;
      if (!g[k].is_array())
        return bad("comm group " + std::to_string(k) + " is not a list");
      for (const nlohmann::json &a : g[k]) {
        if (!intIn(a, 0, (int64_t)p.shape.size() - 1) ||
            std::find(axes.begin(), axes.end(), a.get<int32_t>()) != axes.end())
          return bad("comm group " + std::to_string(k) +
                     " is not a list of distinct mesh axes (0.." +
                     std::to_string(p.shape.size() - 1) + ")");
        axes.push_back(a.get<int32_t>());
      }
      p.groups.push_back(std::move(axes));
    }
  }
  for (const char *key : {"weights_files", "weights_checksums"}) {
    if (!j.contains(key))
      continue;
    const nlohmann::json &f = j[key];
    if (!f.is_array() || f.size() != (size_t)p.worldSize)
      return bad(std::string(key) + " is not a list of " +
                 std::to_string(p.worldSize) + " (one per rank)");
    std::vector<std::string> &out = std::string(key) == "weights_files"
                                        ? p.weightsFiles
                                        : p.weightsChecksums;
    for (const nlohmann::json &s : f) {
      if (!s.is_string())
        return bad(std::string(key) + " holds something that is not a string");
      out.push_back(s.get<std::string>());
    }
  }
  return true;
}

} // namespace ditc_rt::model

#endif // DITC_RUNTIME_SRC_MODEL_MESH_H
