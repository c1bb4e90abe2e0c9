#include "tests/support/golden.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <stdexcept>
#include <type_traits>

namespace netkit::test {

namespace {

constexpr int kListedFailures = 5;

std::string number(double v) {
  std::ostringstream s;
  s << std::setprecision(9) << v;
  return s.str();
}

std::string location(int64_t i, const std::vector<int64_t>& dims) {
  std::string text = "element " + std::to_string(i);
  if (dims.size() > 1) text += " " + index_text(i, dims);
  return text;
}

}  // namespace

std::string source_path(const std::string& relative) { return std::string(NETKIT_SOURCE_DIR) + "/" + relative; }

std::vector<std::string> files_in(const std::string& dir, const std::string& extension) {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && name.size() >= extension.size() &&
        name.compare(name.size() - extension.size(), extension.size(), extension) == 0)
      files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(path + ": not valid JSON: " + e.what());
  }
}

std::vector<double> json_numbers(const nlohmann::json& list, const std::string& what) {
  if (!list.is_array()) throw std::runtime_error(what + ": expected a list of numbers, got " + list.type_name());
  std::vector<double> out;
  out.reserve(list.size());
  for (const auto& v : list) {
    if (!v.is_number()) throw std::runtime_error(what + ": expected numbers, got " + v.dump());
    out.push_back(v.get<double>());
  }
  return out;
}

Array json_array(const nlohmann::json& list, std::vector<int64_t> dims, const std::string& what) {
  const std::vector<double> v = json_numbers(list, what);
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  if (static_cast<int64_t>(v.size()) != n)
    throw std::runtime_error(what + ": expected " + std::to_string(n) + " numbers, got " + std::to_string(v.size()));
  return Array::from(std::move(dims), v);
}

std::vector<double> to_doubles(const Array& a) {
  std::vector<double> out(static_cast<size_t>(a.size()));
  for (int64_t i = 0; i < a.size(); ++i) out[static_cast<size_t>(i)] = a[i];
  return out;
}

std::string index_text(int64_t flat, const std::vector<int64_t>& dims) {
  std::vector<int64_t> idx(dims.size());
  for (size_t k = dims.size(); k-- > 0;) {
    idx[k] = dims[k] > 0 ? flat % dims[k] : 0;
    flat = dims[k] > 0 ? flat / dims[k] : 0;
  }
  std::string s = "[";
  for (size_t k = 0; k < idx.size(); ++k) s += (k ? ", " : "") + std::to_string(idx[k]);
  return s + "]";
}

std::string mismatch_report(const std::string& what, const std::vector<double>& got,
                            const std::vector<double>& expected, const std::vector<double>& allowed,
                            const std::vector<int64_t>& dims) {
  if (got.size() != expected.size() || allowed.size() != expected.size())
    return what + ": " + std::to_string(got.size()) + " values, expected " + std::to_string(expected.size()) +
           " (allowances for " + std::to_string(allowed.size()) + ")";
  std::ostringstream listed;
  int64_t failures = 0, worst = -1;
  double worst_ratio = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double diff = std::abs(got[i] - expected[i]);
    if (diff <= allowed[i]) continue;  // false for NaN: NaN always fails
    const double ratio = std::isnan(diff) ? INFINITY : diff / allowed[i];
    if (worst < 0 || ratio > worst_ratio) worst = static_cast<int64_t>(i), worst_ratio = ratio;
    if (failures++ < kListedFailures)
      listed << "\n  " << location(static_cast<int64_t>(i), dims) << ": expected " << number(expected[i]) << ", got "
             << number(got[i]) << " (|diff| " << number(diff) << " > allowed " << number(allowed[i]) << ")";
  }
  if (failures == 0) return {};
  std::ostringstream s;
  s << what << ": " << failures << " of " << got.size() << " elements out of tolerance" << listed.str();
  if (failures > kListedFailures) s << "\n  ...";
  const size_t w = static_cast<size_t>(worst);
  s << "\n  worst: " << location(worst, dims) << ": expected " << number(expected[w]) << ", got " << number(got[w])
    << " (" << number(worst_ratio) << " times the allowance)";
  return s.str();
}

std::string mismatch_report(const std::string& what, const std::vector<double>& got,
                            const std::vector<double>& expected, Tolerance tol, const std::vector<int64_t>& dims) {
  std::vector<double> allowed(expected.size());
  for (size_t i = 0; i < expected.size(); ++i) allowed[i] = tol.abs + tol.rel * std::abs(expected[i]);
  return mismatch_report(what, got, expected, allowed, dims);
}

std::string mismatch_report(const std::string& what, const Array& got, const std::vector<double>& expected,
                            Tolerance tol) {
  return mismatch_report(what, to_doubles(got), expected, tol, got.dims());
}

namespace {

template <class T>
std::string bit_differences(const std::string& what, const T* a, const T* b, int64_t n,
                            const std::vector<int64_t>& dims) {
  using Bits = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;
  auto bits = [](T v) {
    Bits u;
    std::memcpy(&u, &v, sizeof u);
    return u;
  };
  auto hex = [&](T v) {
    std::ostringstream s;
    s << "0x" << std::hex << std::setw(2 * sizeof(T)) << std::setfill('0') << bits(v);
    return s.str();
  };
  std::ostringstream listed;
  int64_t differ = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (bits(a[i]) == bits(b[i])) continue;
    if (differ++ < kListedFailures)
      listed << "\n  " << location(i, dims) << ": " << std::setprecision(17) << a[i] << " (" << hex(a[i]) << ") vs "
             << b[i] << " (" << hex(b[i]) << ")";
  }
  if (differ == 0) return {};
  std::ostringstream s;
  s << what << ": " << differ << " of " << n << " elements differ in their bits" << listed.str();
  if (differ > kListedFailures) s << "\n  ...";
  return s.str();
}

template <class T>
std::string vector_bit_differences(const std::string& what, const std::vector<T>& a, const std::vector<T>& b) {
  if (a.size() != b.size())
    return what + ": " + std::to_string(a.size()) + " vs " + std::to_string(b.size()) + " elements";
  return bit_differences(what, a.data(), b.data(), static_cast<int64_t>(a.size()), {});
}

}  // namespace

std::string bit_difference_report(const std::string& what, const Array& a, const Array& b) {
  if (a.dims() != b.dims())
    return what + ": dims differ: " + dims_to_string(a.dims()) + " vs " + dims_to_string(b.dims());
  return bit_differences(what, a.data(), b.data(), a.size(), a.dims());
}

std::string bit_difference_report(const std::string& what, const std::vector<float>& a, const std::vector<float>& b) {
  return vector_bit_differences(what, a, b);
}

std::string bit_difference_report(const std::string& what, const std::vector<double>& a, const std::vector<double>& b) {
  return vector_bit_differences(what, a, b);
}

}  // namespace netkit::test
