#include "command.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <sstream>

#include "lmzip/core/error.h"
#include "lmzip/kernels/thread_pool.h"

namespace lmzip::cli {
namespace {

std::map<std::string, Command>& registry() {
  static std::map<std::string, Command> r;
  return r;
}

std::vector<std::string> split_names(const std::string& names) {
  std::vector<std::string> out;
  std::stringstream ss(names);
  std::string n;
  while (std::getline(ss, n, ',')) {
    while (!n.empty() && n.front() == ' ') n.erase(n.begin());
    if (!n.empty()) out.push_back(n);
  }
  return out;
}

template <typename T>
T parse_number(const std::string& name, const std::string& text) {
  std::istringstream ss(text);
  T v{};
  ss >> v;
  if (ss.fail() || !ss.eof()) throw UsageError("option " + name + " expects a number, got '" + text + "'");
  if (v < 0 || text.find('-') == 0) {
    throw UsageError("option " + name + " must not be negative, got '" + text + "'");
  }
  return v;
}

}  // namespace

int resolve_threads(long long requested) {
  const int hardware = ThreadPool::hardware_threads();
  if (requested <= 0) return hardware;
  const long long cap = 4LL * hardware;
  if (requested > cap) {
    std::cerr << "lmzip: warning: -t " << requested << " is more than 4 threads per hardware thread (" << hardware
              << " here); using " << cap << "\n";
    return static_cast<int>(cap);
  }
  return static_cast<int>(requested);
}

void check_overwrite(const std::string& output, const std::vector<std::string>& inputs, bool force) {
  struct stat out;
  if (output == "-" || ::stat(output.c_str(), &out) != 0) return;
  for (const std::string& in : inputs) {
    struct stat st;
    if (in != "-" && ::stat(in.c_str(), &st) == 0 && st.st_dev == out.st_dev && st.st_ino == out.st_ino) {
      throw Error(output + ": is the input file " + in + "; refusing to write the output onto it");
    }
  }
  if (S_ISREG(out.st_mode) && !force) throw Error(output + ": already exists; use --force to overwrite it");
}

Registration::Registration(Command command) { registry()[command.name] = std::move(command); }

const std::map<std::string, Command>& commands() { return registry(); }

ArgParser::ArgParser(std::string usage, std::string description)
    : usage_(std::move(usage)), description_(std::move(description)) {}

void ArgParser::flag(const std::string& names, bool* out, const std::string& help) {
  options_.push_back({split_names(names), "", help, [out](const std::string&) { *out = true; }});
}

void ArgParser::option(const std::string& names, const std::string& metavar, std::string* out,
                       const std::string& help) {
  options_.push_back({split_names(names), metavar, help, [out](const std::string& v) { *out = v; }});
}

void ArgParser::option(const std::string& names, const std::string& metavar, int* out, const std::string& help) {
  auto n = split_names(names);
  std::string first = n.front();
  options_.push_back({n, metavar, help, [out, first](const std::string& v) { *out = parse_number<int>(first, v); }});
}

void ArgParser::option(const std::string& names, const std::string& metavar, long long* out,
                       const std::string& help) {
  auto n = split_names(names);
  std::string first = n.front();
  options_.push_back(
      {n, metavar, help, [out, first](const std::string& v) { *out = parse_number<long long>(first, v); }});
}

void ArgParser::option(const std::string& names, const std::string& metavar, double* out,
                       const std::string& help) {
  auto n = split_names(names);
  std::string first = n.front();
  options_.push_back(
      {n, metavar, help, [out, first](const std::string& v) { *out = parse_number<double>(first, v); }});
}

void ArgParser::option(const std::string& names, const std::string& metavar, std::vector<std::string>* out,
                       const std::string& help) {
  options_.push_back({split_names(names), metavar, help, [out](const std::string& v) { out->push_back(v); }});
}

void ArgParser::positionals(const std::string& metavar, std::vector<std::string>* out, size_t min_count,
                            size_t max_count, const std::string& help) {
  pos_metavar_ = metavar;
  pos_out_ = out;
  pos_min_ = min_count;
  pos_max_ = max_count;
  pos_help_ = help;
}

const ArgParser::Option* ArgParser::lookup(const std::string& name) const {
  for (const auto& o : options_) {
    for (const auto& n : o.names) {
      if (n == name) return &o;
    }
  }
  return nullptr;
}

bool ArgParser::parse(int argc, char** argv) {
  std::vector<std::string> positional;
  bool options_done = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (options_done || arg == "-" || arg.size() < 2 || arg[0] != '-') {
      positional.push_back(arg);
      continue;
    }
    if (arg == "--") {
      options_done = true;
      continue;
    }
    if (arg == "-h" || arg == "--help") {
      std::cout << help();
      return false;
    }
    std::string value;
    bool has_value = false;
    if (auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_value = true;
    }
    const Option* o = lookup(arg);
    if (!o) throw UsageError("unknown option " + arg);
    if (o->metavar.empty()) {
      if (has_value) throw UsageError("option " + arg + " takes no value");
      o->set("");
      continue;
    }
    if (!has_value) {
      if (i + 1 >= argc) throw UsageError("option " + arg + " needs a value (" + o->metavar + ")");
      value = argv[++i];
    }
    o->set(value);
  }
  if (!pos_out_ && !positional.empty()) throw UsageError("unexpected argument '" + positional.front() + "'");
  if (pos_out_) {
    if (positional.size() < pos_min_) throw UsageError("missing " + pos_metavar_);
    if (positional.size() > pos_max_) throw UsageError("too many arguments (expected at most " +
                                                       std::to_string(pos_max_) + " " + pos_metavar_ + ")");
    *pos_out_ = positional;
  }
  return true;
}

std::string ArgParser::help() const {
  std::ostringstream out;
  out << "usage: " << usage_ << "\n\n" << description_ << "\n";
  if (pos_out_ && !pos_help_.empty()) out << "\n  " << pos_metavar_ << "\n      " << pos_help_ << "\n";
  if (!options_.empty()) out << "\noptions:\n";
  for (const auto& o : options_) {
    std::string left;
    for (size_t i = 0; i < o.names.size(); ++i) left += (i ? ", " : "") + o.names[i];
    if (!o.metavar.empty()) left += " " + o.metavar;
    out << "  " << left;
    if (left.size() < 26) out << std::string(26 - left.size(), ' ');
    else out << "\n" << std::string(28, ' ');
    out << o.help << "\n";
  }
  out << "  -h, --help                  show this help\n";
  return out.str();
}

bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) != 0; }

}  // namespace lmzip::cli
