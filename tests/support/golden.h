// Test support: reading reference data (JSON files under the source tree) and comparing float
// results against it. Comparisons return a report string, empty when everything agrees, so a
// failure names the quantity, the failing elements (flat and multi-index), expected and got.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <netkit/core/array.h>

namespace netkit::test {

// Absolute path of a file given relative to the repository root.
std::string source_path(const std::string& relative);
// Files in `dir` whose name ends with `extension` (e.g. ".json"), full paths, sorted by name.
std::vector<std::string> files_in(const std::string& dir, const std::string& extension);
// Parses a JSON file; throws std::runtime_error naming the file when it cannot be read or parsed.
nlohmann::json read_json(const std::string& path);

// A JSON list of numbers as doubles; throws std::runtime_error naming `what` otherwise.
std::vector<double> json_numbers(const nlohmann::json& list, const std::string& what);
// A JSON list of numbers as a float Array of the given dims (the count must match).
Array json_array(const nlohmann::json& list, std::vector<int64_t> dims, const std::string& what);
std::vector<double> to_doubles(const Array& a);

// |got - expected| <= abs + rel |expected|, element by element.
struct Tolerance {
  double rel = 0, abs = 0;
};

// Empty when every element is within tolerance (NaN never is); else a report with the number of
// failures, the first few and the worst. `dims` (optional) turns flat indices into multi-indices.
std::string mismatch_report(const std::string& what, const std::vector<double>& got,
                            const std::vector<double>& expected, Tolerance tol, const std::vector<int64_t>& dims = {});
std::string mismatch_report(const std::string& what, const Array& got, const std::vector<double>& expected,
                            Tolerance tol);
// Per-element allowances instead of one tolerance (e.g. a rounding-error bound per element).
std::string mismatch_report(const std::string& what, const std::vector<double>& got,
                            const std::vector<double>& expected, const std::vector<double>& allowed,
                            const std::vector<int64_t>& dims = {});

// Empty when the arrays are bit-identical; else the dims or the first differing elements with
// both values in decimal and as raw bits.
std::string bit_difference_report(const std::string& what, const Array& a, const Array& b);
std::string bit_difference_report(const std::string& what, const std::vector<float>& a, const std::vector<float>& b);
std::string bit_difference_report(const std::string& what, const std::vector<double>& a, const std::vector<double>& b);

// "[1, 0, 3]": the multi-index of a flat row-major index.
std::string index_text(int64_t flat, const std::vector<int64_t>& dims);

}  // namespace netkit::test

// Fails the test (and continues) with the report when it is non-empty.
#define NETKIT_CHECK_REPORT(...)                      \
  do {                                                \
    const std::string netkit_report_ = (__VA_ARGS__); \
    if (netkit_report_.empty())                       \
      SUCCEED();                                      \
    else                                              \
      FAIL_CHECK(netkit_report_);                     \
  } while (false)
